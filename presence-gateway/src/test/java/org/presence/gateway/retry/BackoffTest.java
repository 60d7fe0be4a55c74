package org.presence.gateway.retry;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BackoffTest {
  @Test
  void delay_doublesUpToTheMaximum_withoutJitter() {
    Backoff b = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(5), bound -> 0);
    assertThat(b.delayMillis(1)).isEqualTo(1000);
    assertThat(b.delayMillis(2)).isEqualTo(2000);
    assertThat(b.delayMillis(3)).isEqualTo(4000);
    assertThat(b.delayMillis(4)).isEqualTo(5000);
    assertThat(b.delayMillis(1000)).isEqualTo(5000);
    assertThat(b.delayMillis(0)).isEqualTo(1000);
  }

  @Test
  void jitter_addsUpToAFifth() {
    Backoff most = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(5), bound -> bound - 1);
    assertThat(most.delayMillis(1)).isEqualTo(1200);
    assertThat(most.delayMillis(10)).isEqualTo(6000);
    Backoff fixed = Backoff.fixed(Duration.ofSeconds(2));
    Set<Long> seen = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      long d = fixed.delayMillis(i + 1);
      assertThat(d).isBetween(2000L, 2400L);
      seen.add(d);
    }
    // Loops that failed together spread out instead of retrying in step.
    assertThat(seen.size()).isGreaterThan(10);
  }

  @Test
  void zeroBase_isNoWait() {
    assertThat(Backoff.fixed(Duration.ZERO).delayMillis(3)).isZero();
  }
}
