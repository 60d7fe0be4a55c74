package org.presence.gateway.http;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.id.Sha256;
import org.presence.store.limit.TokenBuckets;

/**
 * A rate limit per caller (a user or a developer, named by their subject), shared by every node of
 * the deployment: one of the store's {@link TokenBuckets} per caller (Bucket4j in the embedded
 * default, one bucket in Redis in a cluster), keyed by the first 8 bytes of the SHA-256 of the
 * subject. Each call takes one token; without one it fails with a {@link RetryLaterException} of
 * its error code (429 with {@code Retry-After}). While this node knows the caller's bucket is empty
 * it refuses without asking the store.
 */
public final class CallerRateLimit {
  private final TokenBuckets buckets;
  private final ErrorCode code;

  public CallerRateLimit(TokenBuckets buckets, ErrorCode code) {
    this.buckets = buckets;
    this.code = code;
  }

  /**
   * Takes a token of {@code caller}: completes normally when there was one, otherwise fails with a
   * {@link RetryLaterException} saying the whole seconds until there is (at least 1).
   */
  public CompletionStage<Void> take(String caller) {
    long key = key(caller);
    long known = buckets.knownWait(key);
    if (known > 0) {
      return CompletableFuture.failedFuture(new RetryLaterException(code, seconds(known)));
    }
    return buckets
        .take(key, 1)
        .thenApply(
            taken -> {
              if (taken.got() < 1) {
                throw new RetryLaterException(code, seconds(taken.nanosToNext()));
              }
              return null;
            });
  }

  /** The bucket key of {@code caller}: the first 8 bytes of the SHA-256 of its UTF-8. */
  static long key(String caller) {
    byte[] h = Sha256.of(caller.getBytes(StandardCharsets.UTF_8));
    long k = 0;
    for (int i = 0; i < 8; i++) {
      k = (k << 8) | (h[i] & 0xff);
    }
    return k;
  }

  private static long seconds(long nanos) {
    return Math.max(1, (nanos + 999_999_999L) / 1_000_000_000L);
  }
}
