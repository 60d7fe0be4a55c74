package org.presence.store.limit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LocalTokenBucketsTest extends TokenBucketsContract {
  private static final long SECOND = 1_000_000_000L;

  @Override
  protected TokenBuckets open(double perSecond, int burst) {
    return new LocalTokenBuckets(perSecond, burst, 1000);
  }

  /** One process is the whole deployment: every part of it uses the same buckets. */
  @Override
  protected TokenBuckets otherNode(TokenBuckets first, double perSecond, int burst) {
    return first;
  }

  @Override
  protected void closeAll() {}

  @Test
  void take_whenTimePasses_thenRefilledAtTheRate_upToTheBurst() {
    AtomicLong now = new AtomicLong();
    LocalTokenBuckets b = new LocalTokenBuckets(10, 50, 1000, now::get);
    b.takeNow(1, 50);
    now.set(SECOND);
    assertThat(b.takeNow(1, 100).got()).isEqualTo(10);
    now.set(SECOND + SECOND / 2);
    assertThat(b.takeNow(1, 100).got()).isEqualTo(5);
    assertThat(b.knownWait(1)).isEqualTo(SECOND / 10);
    now.set(100 * SECOND);
    assertThat(b.takeNow(1, 100).got()).isEqualTo(50);
  }
}
