package org.presence.gateway.notify;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The per-application rate limit of live notifications on this node: a token bucket per
 * application, {@code notifications.rate} items per second up to {@code notifications.burst} at
 * once. Each well-formed item of a batch takes a token; items beyond the bucket are refused with
 * {@code APP_RATE_LIMITED}, and a batch that finds the bucket empty is refused whole (429 with
 * {@code Retry-After}) before its body is read. Buckets exist only for applications that posted
 * with a valid key, so their number is bounded by the registered applications.
 */
final class AppRateLimiter {
  private final double perSecond;
  private final int burst;
  private final ConcurrentHashMap<Long, Bucket> buckets = new ConcurrentHashMap<>();

  AppRateLimiter(double perSecond, int burst) {
    this.perSecond = perSecond;
    this.burst = burst;
  }

  private Bucket bucket(long appId) {
    return buckets.computeIfAbsent(appId, k -> new Bucket(burst));
  }

  /** Whether application {@code appId} has at least one token at {@code nanos}. */
  boolean hasTokens(long appId, long nanos) {
    Bucket b = bucket(appId);
    synchronized (b) {
      b.refill(nanos, perSecond, burst);
      return b.tokens >= 1;
    }
  }

  /** Takes up to {@code wanted} tokens at {@code nanos}; returns how many it got. */
  int take(long appId, int wanted, long nanos) {
    Bucket b = bucket(appId);
    synchronized (b) {
      b.refill(nanos, perSecond, burst);
      int got = (int) Math.min(wanted, Math.floor(b.tokens));
      b.tokens -= got;
      return Math.max(0, got);
    }
  }

  /** Whole seconds until application {@code appId} has a token again (at least 1). */
  long retryAfterSeconds(long appId, long nanos) {
    Bucket b = bucket(appId);
    synchronized (b) {
      b.refill(nanos, perSecond, burst);
      double missing = 1 - b.tokens;
      return Math.max(1, (long) Math.ceil(missing / perSecond));
    }
  }

  private static final class Bucket {
    double tokens;
    long refilledAt;
    boolean started;

    Bucket(int burst) {
      tokens = burst;
    }

    void refill(long nanos, double perSecond, int burst) {
      if (!started) {
        started = true;
        refilledAt = nanos;
        return;
      }
      long elapsed = nanos - refilledAt;
      if (elapsed > 0) {
        tokens = Math.min(burst, tokens + elapsed * perSecond / 1e9);
        refilledAt = nanos;
      }
    }
  }
}
