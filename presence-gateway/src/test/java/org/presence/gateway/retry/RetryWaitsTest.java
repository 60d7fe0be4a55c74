package org.presence.gateway.retry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.failsafe.Execution;
import dev.failsafe.RetryPolicy;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RetryWaitsTest {
  private static final RuntimeException FAILED = new RuntimeException("failed");

  @Test
  void waits_doubleUpToTheMaximum_neverShorter_andAtMostAFifthLonger() {
    RetryPolicy<Object> policy =
        RetryWaits.backoff(Duration.ofSeconds(1), Duration.ofSeconds(5)).build();
    long[] doubling = {1000, 2000, 4000, 5000, 5000, 5000, 5000, 5000, 5000, 5000};
    long[] least = new long[doubling.length];
    long[] most = new long[doubling.length];
    java.util.Arrays.fill(least, Long.MAX_VALUE);
    for (int run = 0; run < 2000; run++) {
      Execution<Object> e = Execution.of(policy);
      for (int i = 0; i < doubling.length; i++) {
        long wait = RetryWaits.next(e, FAILED);
        least[i] = Math.min(least[i], wait);
        most[i] = Math.max(most[i], wait);
      }
    }
    for (int i = 0; i < doubling.length; i++) {
      assertThat(least[i])
          .as("least wait after %d failures", i + 1)
          .isGreaterThanOrEqualTo(doubling[i]);
      assertThat(most[i])
          .as("longest wait after %d failures", i + 1)
          .isLessThanOrEqualTo(doubling[i] * 6 / 5);
      // Spread over the whole fifth: loops that failed together do not come back together, also
      // once they all reached the longest wait.
      assertThat(most[i] - least[i]).isGreaterThan(doubling[i] / 6);
    }
  }

  @Test
  void fixedWaits_spreadOverAFifth() {
    RetryPolicy<Object> policy = RetryWaits.fixed(Duration.ofSeconds(2)).build();
    Set<Long> seen = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      Execution<Object> e = Execution.of(policy);
      long first = RetryWaits.next(e, FAILED);
      long later = RetryWaits.next(e, FAILED);
      assertThat(first).isBetween(2000L, 2400L);
      assertThat(later).isBetween(2000L, 2400L);
      seen.add(first);
    }
    assertThat(seen.size()).isGreaterThan(10);
  }

  @Test
  void zeroBase_isNoWait() {
    Execution<Object> e = Execution.of(RetryWaits.fixed(Duration.ZERO).build());
    assertThat(RetryWaits.next(e, FAILED)).isZero();
    assertThat(RetryWaits.next(e, FAILED)).isZero();
  }

  @Test
  void aBoundedPolicy_saysWhenToGiveUp() {
    Execution<Object> e =
        Execution.of(
            RetryWaits.backoff(Duration.ofMillis(50), Duration.ofSeconds(1))
                .withMaxRetries(2)
                .build());
    assertThat(RetryWaits.next(e, FAILED)).isBetween(50L, 60L);
    assertThat(RetryWaits.next(e, FAILED)).isBetween(100L, 120L);
    assertThat(RetryWaits.next(e, FAILED)).isEqualTo(-1);
  }
}
