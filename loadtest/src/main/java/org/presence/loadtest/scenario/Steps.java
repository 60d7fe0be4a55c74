package org.presence.loadtest.scenario;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * An immutable sequence of actions, built fluently in Gatling's manner: every call returns a new
 * builder of the same kind with one more step. {@link ChainBuilder} ({@link Dsl#chain()}) is an
 * anonymous sequence for loops; {@link ScenarioBuilder} ({@link Dsl#scenario}) a named one that
 * injection turns into a {@link Population}.
 *
 * <pre>{@code
 * chain().connect()
 *     .sendStatus("online")
 *     .during(Duration.ofSeconds(30), chain().pause(Duration.ofSeconds(1)).sendStatus("away"))
 *     .disconnect();
 * }</pre>
 */
public abstract class Steps<T extends Steps<T>> {
  final List<Action> actions;

  Steps(List<Action> actions) {
    this.actions = List.copyOf(actions);
  }

  /** The steps. */
  public List<Action> actions() {
    return actions;
  }

  /** A builder of the same kind with {@code more} as its steps. */
  abstract T with(List<Action> more);

  private T append(Action a) {
    List<Action> more = new ArrayList<>(actions);
    more.add(a);
    return with(more);
  }

  /** Adds any action. */
  public T exec(Action action) {
    return append(action);
  }

  /** Adds every step of {@code chain}. */
  public T exec(Steps<?> chain) {
    List<Action> more = new ArrayList<>(actions);
    more.addAll(chain.actions);
    return with(more);
  }

  /**
   * Opens the device connection and session ({@link
   * org.presence.loadtest.metrics.Metrics#CONNECT}).
   */
  public T connect() {
    return append(Actions.connect());
  }

  /** Sends a stamped status update; an acknowledgement must come back if the channel acks. */
  public T sendStatus(String status) {
    return append(Actions.sendStatus(s -> status));
  }

  /** Sends a stamped status update, alternating online and away. */
  public T sendStatusFlip() {
    return append(Actions.sendStatus(u -> u.nextSend() % 2 == 0 ? "online" : "away"));
  }

  /** Keeps the connection idle for {@code d}. */
  public T holdIdle(Duration d) {
    return append(Actions.pause("hold " + Dsl.format(d), d, d));
  }

  /** Keeps the connection idle until the run ends. */
  public T holdUntilEnd() {
    return append(Actions.holdUntilEnd());
  }

  /**
   * Opens an app connection and subscribes as the user's app ({@link
   * org.presence.loadtest.metrics.Metrics#SUBSCRIBE}).
   */
  public T subscribe() {
    return append(Actions.subscribe());
  }

  /** Posts a stamped notification batch as the user's app to the users {@code recipients} picks. */
  public T post(Function<VirtualUser, List<Long>> recipients) {
    return append(Actions.post(recipients));
  }

  /** Waits until {@code frames} more pushed frames arrived, failing after {@code timeout}. */
  public T receive(long frames, Duration timeout) {
    return append(Actions.receive(frames, timeout));
  }

  /** Closes the user's connections. */
  public T disconnect() {
    return append(Actions.disconnect());
  }

  /** Closes the device connection and opens it again with the same identity. */
  public T reconnect() {
    return append(Actions.disconnect()).exec(Actions.connect());
  }

  /** Waits {@code d}. */
  public T pause(Duration d) {
    return append(Actions.pause("pause " + Dsl.format(d), d, d));
  }

  /** Waits a uniformly random time between {@code min} and {@code max}. */
  public T pause(Duration min, Duration max) {
    return append(Actions.pause("pause " + Dsl.format(min) + ".." + Dsl.format(max), min, max));
  }

  /** Runs {@code body} {@code times} times. */
  public T repeat(int times, Steps<?> body) {
    return append(Actions.repeat(times, body.actions));
  }

  /** Runs {@code body} again and again until {@code d} has passed since the loop began. */
  public T during(Duration d, Steps<?> body) {
    return append(Actions.during(d, body.actions));
  }

  /** Fails the user unless {@code check} holds here. */
  public T check(Check check) {
    return append(Actions.check(check));
  }
}
