package org.presence.loadtest.scenario;

import org.presence.loadtest.metrics.Metrics;
import org.presence.loadtest.targets.Target;

/**
 * What the engine gives every virtual user: the target, the metrics, identity tokens and the run's
 * shape. Implemented by the engine's runner.
 */
public interface RunContext {
  /** The system under load. */
  Target target();

  /** Where latencies, counters and errors go. */
  Metrics metrics();

  /** The identity assertion of user {@code user}, or empty when the target needs none. */
  String assertion(long user);

  /** Number of apps in the run (devices of user {@code u} send to app {@code u % apps}). */
  int apps();

  /** Number of device users in the run (for choosing notification recipients). */
  long deviceUsers();

  /** Whether the run is stopping (its maximum duration passed): users end at their next step. */
  boolean stopping();

  /**
   * {@code user} now holds until the end of the run (subscribed, connected: in place for the
   * others). Called on the user's event loop.
   */
  default void holdingUntilEnd(VirtualUser user) {}
}
