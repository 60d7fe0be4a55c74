package org.presence.store.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The Bucket4j bucket on a time passed in as nanoseconds. */
class ClockedBucketTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void startsFull_refillsAtTheRate_upToTheBurst() {
    ClockedBucket b = new ClockedBucket(10, 50, 0);
    assertThat(b.take(80, 0)).isEqualTo(50);
    assertThat(b.take(80, SECOND)).isEqualTo(10);
    assertThat(b.take(80, SECOND + SECOND / 2)).isEqualTo(5);
    assertThat(b.take(80, 100 * SECOND)).isEqualTo(50);
  }

  @Test
  void fractionsOfATokenCarryOver() {
    ClockedBucket b = new ClockedBucket(0.25, 1, 0);
    assertThat(b.tryTake(0)).isTrue();
    assertThat(b.tryTake(3 * SECOND)).isFalse();
    assertThat(b.nanosToToken(3 * SECOND)).isEqualTo(SECOND);
    assertThat(b.tryTake(4 * SECOND)).isTrue();
    assertThat(b.nanosToToken(4 * SECOND)).isEqualTo(4 * SECOND);
  }

  @Test
  void takeOverdrawn_goesBelowEmpty_andTheDebtIsPaidBackFirst() {
    ClockedBucket b = new ClockedBucket(1, 2, 0);
    assertThat(b.take(2, 0)).isEqualTo(2);
    assertThat(b.takeOverdrawn(0)).isEqualTo(-1);
    assertThat(b.takeOverdrawn(0)).isEqualTo(-2);
    assertThat(b.tryTake(2 * SECOND)).as("two seconds pay the debt back").isFalse();
    assertThat(b.tryTake(3 * SECOND)).isTrue();
  }

  @Test
  void aTimeBeforeTheLastOne_refillsNothing() {
    ClockedBucket b = new ClockedBucket(1, 5, 10 * SECOND);
    assertThat(b.take(5, 10 * SECOND)).isEqualTo(5);
    assertThat(b.take(5, 0)).isZero();
    assertThat(b.take(5, 11 * SECOND)).isEqualTo(1);
  }

  @Test
  void isFull_onceTheBurstIsBack_thenItBehavesAsANewBucket() {
    ClockedBucket b = new ClockedBucket(0.25, 2, 0);
    assertThat(b.isFull(0, 2)).isTrue();
    assertThat(b.take(2, 0)).isEqualTo(2);
    assertThat(b.isFull(6 * SECOND, 2)).as("one and a half tokens back").isFalse();
    assertThat(b.isFull(8 * SECOND, 2)).isTrue();
    ClockedBucket fresh = new ClockedBucket(0.25, 2, 8 * SECOND);
    for (long t : new long[] {8 * SECOND, 9 * SECOND, 12 * SECOND, 15 * SECOND}) {
      assertThat(b.take(1, t)).isEqualTo(fresh.take(1, t));
      assertThat(b.nanosToToken(t)).isEqualTo(fresh.nanosToToken(t));
    }
  }

  @Test
  void aRateOrBurstThatIsNotPositive_isRefused() {
    assertThatThrownBy(() -> new ClockedBucket(0, 1, 0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new ClockedBucket(1, 0, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
