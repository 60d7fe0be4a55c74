package org.presence.gateway.retry;

import dev.failsafe.Execution;
import dev.failsafe.RetryPolicy;
import dev.failsafe.RetryPolicyBuilder;
import java.time.Duration;

/**
 * The node's one retry policy, as Failsafe {@link RetryPolicy retry policies}: how long a loop that
 * keeps failing (a webhook, a device release, an update-log call) waits before its next try. The
 * wait doubles from {@code base} with each failure, up to {@code max}, and then gets up to a fifth
 * more at random (jitter), so loops that failed together (a store outage) do not all try again in
 * the same instant. The wait is never shorter than the doubling says: a webhook's calls are never
 * closer than {@code webhooks.interval}.
 *
 * <p>Failsafe spreads a wait evenly on both sides of the one it computes; to keep the lower bound,
 * these policies compute a tenth more than the doubling and spread it by an eleventh either side,
 * which gives waits from the doubling to a fifth above it ({@code RetryWaitsTest} pins the range).
 * A policy retries for ever unless the caller bounds it (for instance with {@code
 * withMaxDuration}); a loop that schedules its own tries keeps one Failsafe {@link Execution} per
 * run of failures and asks it for each wait ({@link #next}).
 *
 * <p>A dead node's clean-up ({@code NodeLiveness}) uses it too, on heartbeats: a failed one waits a
 * beat, doubling up to eight, and runs at the first heartbeat after the wait. The client library's
 * {@code org.presence.client.Backoff} draws its waits from zero (full jitter), which suits many
 * clients reconnecting to one node.
 */
public final class RetryWaits {
  /** The spread of Failsafe's jitter either side of the wait it computed. */
  private static final double SPREAD = 1.0 / 11;

  /** The wait Failsafe computes, against the doubling: the centre of the spread. */
  private static final double CENTRE = 1.1;

  private RetryWaits() {}

  /**
   * Waits doubling from {@code base} up to {@code max} ({@code base} when smaller: a fixed wait),
   * each with up to a fifth more at random; no limit on the number of tries.
   */
  public static RetryPolicyBuilder<Object> backoff(Duration base, Duration max) {
    long baseMillis = Math.max(0, base.toMillis());
    long maxMillis = Math.max(baseMillis, max.toMillis());
    RetryPolicyBuilder<Object> b = RetryPolicy.builder().withMaxRetries(-1);
    if (baseMillis == 0) {
      return b; // no wait: Failsafe's default
    }
    Duration from = Duration.ofMillis(Math.round(baseMillis * CENTRE));
    if (maxMillis == baseMillis) {
      b.withDelay(from);
    } else {
      b.withBackoff(from, Duration.ofMillis(Math.round(maxMillis * CENTRE)));
    }
    return b.withJitter(SPREAD);
  }

  /** A fixed wait of {@code delay}, with up to a fifth more at random; no limit on the tries. */
  public static RetryPolicyBuilder<Object> fixed(Duration delay) {
    return backoff(delay, delay);
  }

  /**
   * Records one more failure of a run of them and answers the wait before the next try, in
   * milliseconds, or -1 when {@code run}'s policy allows no more tries.
   */
  public static long next(Execution<Object> run, Throwable failure) {
    run.recordException(failure);
    return run.isComplete() ? -1 : run.getDelay().toMillis();
  }
}
