package org.presence.gateway.notify;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.presence.store.limit.LocalTokenBuckets;

/** The per-application token bucket on local buckets; time is passed in as nanoseconds. */
class AppRateLimiterTest {
  private static final long SECOND = 1_000_000_000L;
  private final AtomicLong now = new AtomicLong();
  private final AppRateLimiter limiter = limiter(10, 50);

  private AppRateLimiter limiter(double perSecond, int burst) {
    return new AppRateLimiter(new LocalTokenBuckets(perSecond, burst, 1000, now::get));
  }

  private int take(AppRateLimiter l, long appId, int wanted, long nanos) {
    now.set(nanos);
    return l.take(appId, wanted).toCompletableFuture().join();
  }

  private boolean hasTokens(long appId, long nanos) {
    now.set(nanos);
    return limiter.hasTokens(appId);
  }

  private long retryAfterSeconds(AppRateLimiter l, long appId, long nanos) {
    now.set(nanos);
    return l.retryAfterSeconds(appId);
  }

  @Test
  void take_whenBurstAvailable_thenAllGranted_thenOnlyTheRest() {
    assertThat(take(limiter, 1, 30, 0)).isEqualTo(30);
    assertThat(take(limiter, 1, 30, 0)).isEqualTo(20);
    assertThat(take(limiter, 1, 5, 0)).isZero();
    assertThat(hasTokens(1, 0)).isFalse();
  }

  @Test
  void take_whenTimePasses_thenRefilledAtTheRate_upToTheBurst() {
    take(limiter, 1, 50, 0);
    assertThat(take(limiter, 1, 100, SECOND)).isEqualTo(10);
    assertThat(take(limiter, 1, 100, SECOND + SECOND / 2)).isEqualTo(5);
    assertThat(take(limiter, 1, 100, 100 * SECOND)).isEqualTo(50);
  }

  @Test
  void buckets_arePerApplication() {
    take(limiter, 1, 50, 0);
    assertThat(hasTokens(1, 0)).isFalse();
    assertThat(take(limiter, 2, 50, 0)).isEqualTo(50);
  }

  @Test
  void retryAfter_isTheWholeSecondsUntilOneToken() {
    AppRateLimiter slow = limiter(0.25, 1);
    take(slow, 7, 1, 0);
    assertThat(retryAfterSeconds(slow, 7, 0)).isEqualTo(4);
    assertThat(retryAfterSeconds(slow, 7, 3 * SECOND)).isEqualTo(1);
    assertThat(retryAfterSeconds(limiter, 9, 0)).isEqualTo(1);
  }
}
