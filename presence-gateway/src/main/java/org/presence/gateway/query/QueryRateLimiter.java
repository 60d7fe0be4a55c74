package org.presence.gateway.query;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The per-application rate limit of presence queries on this node: a Bucket4j token bucket per
 * application, {@code queries.rate} requests per second up to {@code queries.burst} at once. A
 * request (a batch too) takes one token after its key was checked, so buckets exist only for
 * applications with a valid key; idle ones are dropped once they would be full again.
 */
final class QueryRateLimiter {
  private static final long MAX_APPS = 100_000;

  private final double perSecond;
  private final int burst;
  private final Cache<Long, Bucket> buckets;

  QueryRateLimiter(double perSecond, int burst) {
    this.perSecond = perSecond;
    this.burst = burst;
    Duration refillAll = Duration.ofNanos((long) Math.ceil(burst * 1e9 / perSecond));
    this.buckets = Caffeine.newBuilder().maximumSize(MAX_APPS).expireAfterAccess(refillAll).build();
  }

  private Bucket newBucket() {
    Duration perToken = Duration.ofNanos(Math.max(1, (long) Math.ceil(1e9 / perSecond)));
    return Bucket.builder()
        .addLimit(limit -> limit.capacity(burst).refillGreedy(1, perToken))
        .build();
  }

  /**
   * Takes a token of application {@code appId}: 0 when there was one, otherwise the whole seconds
   * until there is (at least 1).
   */
  long take(long appId) {
    ConsumptionProbe probe = buckets.get(appId, a -> newBucket()).tryConsumeAndReturnRemaining(1);
    if (probe.isConsumed()) {
      return 0;
    }
    return Math.max(
        1, TimeUnit.NANOSECONDS.toSeconds(probe.getNanosToWaitForRefill() + 999_999_999L));
  }
}
