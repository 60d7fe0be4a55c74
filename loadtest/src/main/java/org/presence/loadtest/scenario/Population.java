package org.presence.loadtest.scenario;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * Virtual users of one kind: the steps they run and when they start.
 *
 * @param name the scenario's name, shown in reports
 * @param role whether the users are devices or apps (it decides how user numbers are assigned)
 * @param actions the steps every user runs
 * @param profile when users start
 * @param background whether these users receive while the others work (subscribers that hold until
 *     the end): the others start only once every one of them is in place, and the run ends once the
 *     others are done and what they sent has arrived
 */
public record Population(
    String name, Role role, List<Action> actions, InjectionProfile profile, boolean background) {

  /** What kind of user a population holds. */
  public enum Role {
    /** Device users, numbered 0.. across the run's device populations. */
    DEVICES,
    /** App users, numbered 0..apps-1 within their population. */
    APPS
  }

  /** Copies the steps. */
  public Population {
    actions = List.copyOf(actions);
  }

  /**
   * This population as background: the other populations start once every one of its users holds
   * until the end (or ended), over every injector process; the run ends once the others are done,
   * everywhere, and what they sent has arrived (nothing received for a second, at most five).
   */
  public Population inBackground() {
    return new Population(name, role, actions, profile, true);
  }

  /** Runs the steps for {@code user}, on its event loop; completes when it ended. */
  public CompletionStage<Void> runFor(VirtualUser user) {
    return Stepper.once(user, actions);
  }

  /** The target channels the steps use. */
  public Set<Action.Channel> requires() {
    Set<Action.Channel> out = EnumSet.noneOf(Action.Channel.class);
    actions.forEach(a -> out.addAll(a.requires()));
    return out;
  }
}
