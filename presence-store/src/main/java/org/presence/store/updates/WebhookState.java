package org.presence.store.updates;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * Where each application's webhook sender keeps its place, shared by the nodes: a lease, so that
 * exactly one node calls an application's webhook at a time; the cursor (the last update number
 * delivered and when the last call was made), so that a node taking over continues where the last
 * one stopped; and the set of applications that need a sender, so that a lease left by a node that
 * died is taken up even if no new update comes.
 *
 * <p>Two implementations: {@link LocalWebhookState} (one node, the embedded default) and {@link
 * RedisWebhookState} (the cluster). One contract suite runs against both.
 */
public interface WebhookState {
  /**
   * Where an application's webhook stands.
   *
   * @param seq the last update number delivered: the next call starts after it; {@link #UNKNOWN}
   *     when the application's position is not known (the node's memory or Redis lost it): the next
   *     call is then a fresh snapshot
   * @param lastCallMillis when the last call was made (epoch ms; 0 for never)
   */
  record Cursor(long seq, long lastCallMillis) {
    /** The {@link #seq} of a position that is not known. */
    public static final long UNKNOWN = -1;

    /** Whether the position is not known: the next call is a fresh snapshot. */
    public boolean unknown() {
      return seq == UNKNOWN;
    }
  }

  /**
   * Takes the lease on {@code appId}'s webhook for {@code ttl}, or keeps it when {@code node} holds
   * it already, and records that the application needs a sender. Completes with whether {@code
   * node} holds the lease now.
   */
  CompletionStage<Boolean> acquire(long appId, String node, Duration ttl);

  /** Extends the lease when {@code node} holds it; completes with false when it does not. */
  CompletionStage<Boolean> renew(long appId, String node, Duration ttl);

  /**
   * Gives the lease up when {@code node} holds it; with {@code done}, the application no longer
   * needs a sender (its webhook is caught up or gone).
   */
  CompletionStage<Void> release(long appId, String node, boolean done);

  /** The applications that need a sender. */
  CompletionStage<List<Long>> pending();

  /** The cursor of {@code appId}'s webhook, if it has one. */
  CompletionStage<Optional<Cursor>> cursor(long appId);

  /**
   * Sets the cursor to {@code initial} unless there is one; completes with the cursor in force. The
   * first node to see updates for a new webhook decides where it starts.
   */
  CompletionStage<Cursor> initCursor(long appId, Cursor initial);

  /** Saves the cursor when {@code node} holds the lease; completes with whether it did. */
  CompletionStage<Boolean> saveCursor(long appId, String node, Cursor cursor);
}
