package org.presence.loadtest.scenario;

import java.util.Arrays;
import java.util.List;

/**
 * A named sequence of steps that virtual users run; {@link #inject} gives it an injection profile
 * and makes it a {@link Population}. Start one with {@link Dsl#scenario}.
 */
public final class ScenarioBuilder extends Steps<ScenarioBuilder> {
  private final String name;
  private final Population.Role role;

  ScenarioBuilder(String name, Population.Role role, List<Action> actions) {
    super(actions);
    this.name = name;
    this.role = role;
  }

  @Override
  ScenarioBuilder with(List<Action> more) {
    return new ScenarioBuilder(name, role, more);
  }

  /** The name. */
  public String name() {
    return name;
  }

  /** The same steps run by app users: their number is an app number, not a device user's. */
  public ScenarioBuilder asApps() {
    return new ScenarioBuilder(name, Population.Role.APPS, actions);
  }

  /** These steps, with users started by {@code steps} one after another. */
  public Population inject(Injection... steps) {
    return new Population(name, role, actions, new InjectionProfile(Arrays.asList(steps)), false);
  }
}
