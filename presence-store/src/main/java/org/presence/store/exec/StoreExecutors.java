package org.presence.store.exec;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounded, named thread pools for blocking store work. Database calls never run on a Netty event
 * loop: they run here, on {@code store-db-N} threads, and a full queue refuses new work at once
 * (the caller answers {@code SERVER_BUSY}) instead of letting it pile up.
 */
public final class StoreExecutors {
  private StoreExecutors() {}

  /**
   * A pool of {@code threads} threads named {@code <prefix>N} with a queue of {@code queue} tasks.
   */
  public static ThreadPoolExecutor bounded(String prefix, int threads, int queue) {
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            threads,
            threads,
            60,
            TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(queue),
            named(prefix),
            new ThreadPoolExecutor.AbortPolicy());
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  /** A thread factory making daemon threads named {@code <prefix>N}. */
  public static ThreadFactory named(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
