package org.presence.store.limit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The behaviour of every {@link ConnectionCounts}. */
public abstract class ConnectionCountsContract {
  /** The counts of one node. */
  protected abstract ConnectionCounts open();

  /** The counts of another node of the same deployment as {@code first}. */
  protected abstract ConnectionCounts otherNode(ConnectionCounts first);

  protected abstract void closeAll();

  @AfterEach
  void close() {
    closeAll();
  }

  protected static <T> T join(CompletionStage<T> s) {
    try {
      return s.toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  protected static long key() {
    return ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
  }

  @Test
  void open_upToTheLimit_thenRefused_untilOneCloses() {
    ConnectionCounts c = open();
    long k = key();
    assertThat(join(c.open(k, 2))).isTrue();
    assertThat(join(c.open(k, 2))).isTrue();
    assertThat(join(c.open(k, 2))).isFalse();
    assertThat(join(c.count(k))).isEqualTo(2);
    join(c.closed(k));
    assertThat(join(c.count(k))).isEqualTo(1);
    assertThat(join(c.open(k, 2))).isTrue();
    assertThat(join(c.open(k, 2))).isFalse();
  }

  @Test
  void keys_areCountedApart() {
    ConnectionCounts c = open();
    long k = key();
    long other = key();
    assertThat(join(c.open(k, 1))).isTrue();
    assertThat(join(c.open(k, 1))).isFalse();
    assertThat(join(c.open(other, 1))).isTrue();
    assertThat(join(c.count(other))).isEqualTo(1);
  }

  @Test
  void closingEverything_leavesNothing() {
    ConnectionCounts c = open();
    long k = key();
    join(c.open(k, 5));
    join(c.open(k, 5));
    join(c.closed(k));
    join(c.closed(k));
    assertThat(join(c.count(k))).isZero();
    for (int i = 0; i < 5; i++) {
      assertThat(join(c.open(k, 5))).isTrue();
    }
  }

  @Test
  void theLimit_holdsAcrossTheNodesOfADeployment() {
    ConnectionCounts a = open();
    ConnectionCounts b = otherNode(a);
    long k = key();
    assertThat(join(a.open(k, 3))).isTrue();
    assertThat(join(a.open(k, 3))).isTrue();
    assertThat(join(b.open(k, 3))).isTrue();
    assertThat(join(b.open(k, 3))).as("the third is on the other node").isFalse();
    assertThat(join(a.count(k))).isEqualTo(3);
    join(a.closed(k));
    assertThat(join(b.open(k, 3))).isTrue();
    assertThat(join(b.count(k))).isEqualTo(3);
  }
}
