package org.presence.gateway.notify;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.store.limit.TokenBuckets;

/**
 * The per-application rate limit of live notifications, shared by every node of the deployment: a
 * token bucket per application ({@link TokenBuckets}: Bucket4j in the embedded default, one bucket
 * in Redis in a cluster), {@code notifications.rate} items per second up to {@code
 * notifications.burst} at once. Each well-formed item of a batch takes a token, the whole batch in
 * one call; items beyond the bucket are refused with {@code APP_RATE_LIMITED}, and a batch that
 * finds the bucket known to be empty is refused whole (429 with {@code Retry-After}) before its
 * body is read. In a cluster "known" means what this node's last take learnt: a node that has not
 * yet seen the bucket empty reads the batch and refuses its items one by one. Buckets exist only
 * for applications that posted with a valid key, so their number is bounded by the registered
 * applications.
 */
final class AppRateLimiter {
  private final TokenBuckets buckets;

  AppRateLimiter(TokenBuckets buckets) {
    this.buckets = buckets;
  }

  /** Whether application {@code appId}'s bucket may hold a token, without asking the store. */
  boolean hasTokens(long appId) {
    return buckets.knownWait(appId) == 0;
  }

  /** Takes up to {@code wanted} tokens; completes with how many it got. */
  CompletionStage<Integer> take(long appId, int wanted) {
    if (wanted <= 0) {
      return CompletableFuture.completedFuture(0);
    }
    return buckets.take(appId, wanted).thenApply(TokenBuckets.Taken::got);
  }

  /** Whole seconds until application {@code appId} has a token again (at least 1). */
  long retryAfterSeconds(long appId) {
    return Math.max(1, (buckets.knownWait(appId) + 999_999_999L) / 1_000_000_000L);
  }
}
