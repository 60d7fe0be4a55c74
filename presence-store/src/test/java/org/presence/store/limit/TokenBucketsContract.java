package org.presence.store.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.presence.store.limit.TokenBuckets.Taken;

/**
 * The behaviour of every {@link TokenBuckets}. Rates are slow enough that the few milliseconds a
 * test takes refill nothing, except where a test waits for a refill.
 */
public abstract class TokenBucketsContract {
  /** Buckets of one node. */
  protected abstract TokenBuckets open(double perSecond, int burst);

  /** The same buckets as seen from another node of the same deployment. */
  protected abstract TokenBuckets otherNode(TokenBuckets first, double perSecond, int burst);

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

  /** A key no other test uses. */
  protected static long key() {
    return ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
  }

  @Test
  void take_whenBurstAvailable_thenAllGranted_thenOnlyTheRest() {
    TokenBuckets b = open(0.001, 50);
    long k = key();
    Taken first = join(b.take(k, 30));
    assertThat(first.got()).isEqualTo(30);
    assertThat(first.nanosToNext()).isZero();
    assertThat(b.knownWait(k)).isZero();
    Taken second = join(b.take(k, 30));
    assertThat(second.got()).isEqualTo(20);
    assertThat(second.nanosToNext()).isPositive();
    assertThat(join(b.take(k, 5)).got()).isZero();
    assertThat(b.knownWait(k)).isPositive();
  }

  @Test
  void buckets_arePerKey() {
    TokenBuckets b = open(0.001, 50);
    long k = key();
    long other = key();
    join(b.take(k, 50));
    assertThat(b.knownWait(k)).isPositive();
    assertThat(b.knownWait(other)).isZero();
    assertThat(join(b.take(other, 50)).got()).isEqualTo(50);
  }

  @Test
  void take_ofNothing_onAFreshBucket_getsNothing_andSaysATokenIsThere() {
    TokenBuckets b = open(0.001, 3);
    long k = key();
    assertThat(join(b.take(k, 0))).isEqualTo(new Taken(0, 0));
    assertThat(b.knownWait(k)).isZero();
    assertThat(join(b.take(k, 3)).got()).isEqualTo(3);
  }

  @Test
  void nanosToNext_isTheTimeOneTokenTakes() {
    TokenBuckets b = open(0.25, 1);
    long k = key();
    Taken t = join(b.take(k, 1));
    assertThat(t.got()).isEqualTo(1);
    // 4 s a token, less the little time the call took.
    assertThat(t.nanosToNext()).isBetween(3_000_000_000L, 4_000_000_000L);
  }

  @Test
  void anEmptyBucket_refillsAtTheRate() {
    TokenBuckets b = open(1000, 5);
    long k = key();
    assertThat(join(b.take(k, 10)).got()).isEqualTo(5);
    await().atMost(Duration.ofSeconds(5)).until(() -> join(b.take(k, 1)).got() == 1);
  }

  @Test
  void theNodesOfADeployment_drawOnTheSameTokens() {
    TokenBuckets a = open(0.001, 50);
    TokenBuckets b = otherNode(a, 0.001, 50);
    long k = key();
    assertThat(join(a.take(k, 40)).got()).isEqualTo(40);
    Taken rest = join(b.take(k, 30));
    assertThat(rest.got()).isEqualTo(10);
    assertThat(rest.nanosToNext()).isPositive();
    assertThat(b.knownWait(k)).isPositive();
    assertThat(join(a.take(k, 1)).got()).isZero();
  }
}
