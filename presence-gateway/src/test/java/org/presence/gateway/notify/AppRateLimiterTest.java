package org.presence.gateway.notify;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The per-application token bucket; time is passed in as nanoseconds. */
class AppRateLimiterTest {
  private static final long SECOND = 1_000_000_000L;
  private final AppRateLimiter limiter = new AppRateLimiter(10, 50);

  @Test
  void take_whenBurstAvailable_thenAllGranted_thenOnlyTheRest() {
    assertThat(limiter.take(1, 30, 0)).isEqualTo(30);
    assertThat(limiter.take(1, 30, 0)).isEqualTo(20);
    assertThat(limiter.take(1, 5, 0)).isZero();
    assertThat(limiter.hasTokens(1, 0)).isFalse();
  }

  @Test
  void take_whenTimePasses_thenRefilledAtTheRate_upToTheBurst() {
    limiter.take(1, 50, 0);
    assertThat(limiter.take(1, 100, SECOND)).isEqualTo(10);
    assertThat(limiter.take(1, 100, SECOND + SECOND / 2)).isEqualTo(5);
    assertThat(limiter.take(1, 100, 100 * SECOND)).isEqualTo(50);
  }

  @Test
  void buckets_arePerApplication() {
    limiter.take(1, 50, 0);
    assertThat(limiter.hasTokens(1, 0)).isFalse();
    assertThat(limiter.take(2, 50, 0)).isEqualTo(50);
  }

  @Test
  void retryAfter_isTheWholeSecondsUntilOneToken() {
    AppRateLimiter slow = new AppRateLimiter(0.25, 1);
    slow.take(7, 1, 0);
    assertThat(slow.retryAfterSeconds(7, 0)).isEqualTo(4);
    assertThat(slow.retryAfterSeconds(7, 3 * SECOND)).isEqualTo(1);
    assertThat(limiter.retryAfterSeconds(9, 0)).isEqualTo(1);
  }
}
