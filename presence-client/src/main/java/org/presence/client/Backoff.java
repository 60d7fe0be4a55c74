package org.presence.client;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with full jitter: the {@code n}-th wait (from 0) is uniformly random in
 * {@code [0, min(max, base * 2^n)]}, so that many clients cut off at once (a node restart) come
 * back spread out instead of in waves. {@link #reset()} after a success.
 */
public final class Backoff {
  private final long baseMillis;
  private final long maxMillis;
  private int attempt;

  /**
   * @param base the ceiling of the first wait (at least 1 ms)
   * @param max the largest ceiling (at least {@code base})
   */
  public Backoff(Duration base, Duration max) {
    this.baseMillis = Math.max(1, base.toMillis());
    this.maxMillis = Math.max(baseMillis, max.toMillis());
  }

  /** The defaults: waits up to 500 ms at first, doubling to at most 30 s. */
  public static Backoff defaults() {
    return new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30));
  }

  /** A fresh backoff with the same bounds. */
  public Backoff copy() {
    return new Backoff(Duration.ofMillis(baseMillis), Duration.ofMillis(maxMillis));
  }

  /** The ceiling of the next wait, without drawing it. */
  public synchronized long ceilingMillis() {
    int shift = Math.min(attempt, 30);
    long ceiling = baseMillis << shift;
    return ceiling <= 0 || ceiling > maxMillis ? maxMillis : ceiling;
  }

  /** Draws the next wait and counts the attempt. */
  public synchronized Duration next() {
    long ceiling = ceilingMillis();
    attempt++;
    return Duration.ofMillis(ThreadLocalRandom.current().nextLong(ceiling + 1));
  }

  /** Starts again from the first wait. */
  public synchronized void reset() {
    attempt = 0;
  }

  /** Attempts since the last reset. */
  public synchronized int attempts() {
    return attempt;
  }
}
