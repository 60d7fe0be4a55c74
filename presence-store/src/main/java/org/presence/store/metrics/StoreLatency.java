package org.presence.store.metrics;

/**
 * Told how long the store's backend calls took, for the node's latency histograms. Called on the
 * store's own threads (a database thread, a Redis I/O thread): implementations must be quick and
 * must not block.
 */
public interface StoreLatency {
  /** Tells nothing. */
  StoreLatency NONE = new StoreLatency() {};

  /**
   * One database call ({@code Db.call} or {@code Db.inTransaction}) completed after {@code nanos},
   * counted from its submission (so the wait for a database thread is included).
   */
  default void database(long nanos, boolean ok) {}

  /**
   * One Redis command ({@code command}: its name, such as {@code EVALSHA}) completed {@code nanos}
   * after it was written, as Lettuce measures it.
   */
  default void redis(String command, long nanos) {}
}
