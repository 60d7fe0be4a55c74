package org.presence.gateway.permission;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The per-user rate limit of grant requests on this node (issue 12 item 5): a Bucket4j token bucket
 * per user, {@code grants.rate} requests per second up to {@code grants.burst} at once. Every grant
 * request takes a token before anything else is looked up, so a refused one costs no database work.
 *
 * <p>Buckets are kept for users who asked recently: a bucket idle for as long as it takes to fill
 * up again is dropped (a new one starts full, which is the same), and at most {@code maxUsers} are
 * kept (the least recently used go first).
 */
final class GrantRateLimiter {
  private final double perSecond;
  private final int burst;
  private final Cache<String, Bucket> buckets;

  GrantRateLimiter(double perSecond, int burst, long maxUsers) {
    this.perSecond = perSecond;
    this.burst = burst;
    Duration refillAll = Duration.ofNanos((long) Math.ceil(burst * 1e9 / perSecond));
    this.buckets = Caffeine.newBuilder().maximumSize(maxUsers).expireAfterAccess(refillAll).build();
  }

  private Bucket newBucket() {
    Duration perToken = Duration.ofNanos(Math.max(1, (long) Math.ceil(1e9 / perSecond)));
    return Bucket.builder()
        .addLimit(limit -> limit.capacity(burst).refillGreedy(1, perToken))
        .build();
  }

  /**
   * Takes a token of {@code user}: 0 when there was one, otherwise the whole seconds until there is
   * (at least 1).
   */
  long take(String user) {
    ConsumptionProbe probe = buckets.get(user, u -> newBucket()).tryConsumeAndReturnRemaining(1);
    if (probe.isConsumed()) {
      return 0;
    }
    return Math.max(
        1, TimeUnit.NANOSECONDS.toSeconds(probe.getNanosToWaitForRefill() + 999_999_999L));
  }
}
