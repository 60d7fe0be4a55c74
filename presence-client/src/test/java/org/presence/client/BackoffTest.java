package org.presence.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {
  @Test
  void waitsAreFullJitterBelowADoublingCeiling_cappedAtTheMaximum_andResetStartsOver() {
    Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofMillis(1000));
    long[] ceilings = {100, 200, 400, 800, 1000, 1000, 1000};
    for (long ceiling : ceilings) {
      assertThat(b.ceilingMillis()).isEqualTo(ceiling);
      assertThat(b.next().toMillis()).isBetween(0L, ceiling);
    }
    // Many draws under one ceiling spread over it rather than sitting at the top.
    long max = 0;
    long min = Long.MAX_VALUE;
    for (int i = 0; i < 200; i++) {
      Backoff one = new Backoff(Duration.ofMillis(1000), Duration.ofMillis(1000));
      long w = one.next().toMillis();
      max = Math.max(max, w);
      min = Math.min(min, w);
    }
    assertThat(min).isLessThan(300);
    assertThat(max).isGreaterThan(700);
    assertThat(b.attempts()).isEqualTo(ceilings.length);
    b.reset();
    assertThat(b.ceilingMillis()).isEqualTo(100);
    // A huge number of attempts never overflows past the cap.
    for (int i = 0; i < 100; i++) {
      b.next();
    }
    assertThat(b.ceilingMillis()).isEqualTo(1000);
  }
}
