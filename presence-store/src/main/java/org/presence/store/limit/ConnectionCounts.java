package org.presence.store.limit;

import java.util.concurrent.CompletionStage;

/**
 * How many connections each key (an application's id) holds across every node of a deployment, with
 * a limit checked and counted in one step.
 *
 * <p>Two implementations: {@link LocalConnectionCounts} (this process: the embedded default) and
 * {@link RedisConnectionCounts} (a count per node in Redis that lapses with the node's lease, so a
 * node that dies takes its connections out of the count). One contract suite runs against both.
 */
public interface ConnectionCounts extends AutoCloseable {
  /**
   * Counts one more connection of {@code key} if fewer than {@code max} are open across the
   * deployment; completes with whether it was counted.
   */
  CompletionStage<Boolean> open(long key, int max);

  /** A connection of {@code key} that {@link #open} counted on this node ended. */
  CompletionStage<Void> closed(long key);

  /** Connections of {@code key} open across the deployment. */
  CompletionStage<Integer> count(long key);

  /** Stops counting this node's connections (a node that drains or stops). */
  @Override
  void close();
}
