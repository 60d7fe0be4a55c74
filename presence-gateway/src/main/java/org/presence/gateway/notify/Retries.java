package org.presence.gateway.notify;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The schedule on which {@link NotificationDelivery} tries again what Redis failed (a lost
 * wake-up's lookup, a re-read of the open sessions): 250 ms, doubled each time, at most 30 s, at
 * most {@link #MAX} tries, each on the node's work pool, none once the node stops.
 */
final class Retries {
  private static final Logger LOG = LoggerFactory.getLogger(Retries.class);

  /** Tries before giving up: about 3 minutes in all. */
  static final int MAX = 12;

  private final Executor work;
  private volatile boolean closed;

  Retries(Executor work) {
    this.work = work;
  }

  /** How long to wait before try {@code attempt} (from 0): 250 ms doubled each time, ≤ 30 s. */
  static long delayMillis(int attempt) {
    return Math.min(30_000L, 250L << Math.min(attempt, 7));
  }

  /** Whether {@code attempt} (from 0) is the last try. */
  static boolean last(int attempt) {
    return attempt + 1 >= MAX;
  }

  /** No more tries from now on: the node is stopping. */
  void close() {
    closed = true;
  }

  boolean closed() {
    return closed;
  }

  /** Runs {@code task} on the work pool {@link #delayMillis} after try {@code attempt} failed. */
  void after(int attempt, Runnable task) {
    if (closed) {
      return;
    }
    Runnable guarded =
        () -> {
          if (!closed) {
            task.run();
          }
        };
    try {
      CompletableFuture.delayedExecutor(delayMillis(attempt), TimeUnit.MILLISECONDS, work)
          .execute(guarded);
    } catch (RejectedExecutionException e) {
      LOG.debug("node stopping: not tried again");
    }
  }
}
