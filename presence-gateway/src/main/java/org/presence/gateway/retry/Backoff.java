package org.presence.gateway.retry;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongUnaryOperator;

/**
 * The node's one retry policy: how long a loop that keeps failing (a webhook, a device release)
 * waits before its next try. A dead node's clean-up does not use it: {@code NodeLiveness} tries a
 * failed one again at its next heartbeat, on the heartbeat's fixed period, which the lease rules
 * are built on. The wait doubles from {@code base} with each failure, up to {@code max}, and then
 * gets up to a fifth more at random (jitter), so loops that failed together (a store outage) do not
 * all try again in the same instant. The wait is never shorter than the doubling says. Immutable
 * and thread-safe.
 *
 * <p>The client library's {@code org.presence.client.Backoff} draws its waits from zero (full
 * jitter), which suits many clients reconnecting to one node; the node's loops keep their
 * documented lower bound (a webhook waits at least the doubled interval) and only spread upwards.
 */
public final class Backoff {
  private final long baseMillis;
  private final long maxMillis;
  private final LongUnaryOperator random;

  /**
   * @param base the wait after the first failure
   * @param max the longest wait before jitter ({@code base} when smaller: a fixed wait)
   */
  public Backoff(Duration base, Duration max) {
    this(base, max, bound -> ThreadLocalRandom.current().nextLong(bound));
  }

  /** As the other constructor, with {@code random} giving a number in [0, its argument). */
  Backoff(Duration base, Duration max, LongUnaryOperator random) {
    this.baseMillis = Math.max(0, base.toMillis());
    this.maxMillis = Math.max(baseMillis, max.toMillis());
    this.random = random;
  }

  /** A fixed wait of {@code delay}, with jitter. */
  public static Backoff fixed(Duration delay) {
    return new Backoff(delay, delay);
  }

  /** The wait in milliseconds after {@code failures} failures in a row (1 for the first). */
  public long delayMillis(int failures) {
    int doublings = Math.max(0, Math.min(30, failures - 1));
    long wait = Math.min(maxMillis, baseMillis << doublings);
    long jitter = wait / 5;
    return jitter <= 0 ? wait : wait + random.applyAsLong(jitter + 1);
  }
}
