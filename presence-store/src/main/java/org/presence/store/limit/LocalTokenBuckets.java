package org.presence.store.limit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.LongSupplier;

/**
 * {@link TokenBuckets} in this process: a Bucket4j bucket per key ({@link ClockedBucket}), kept in
 * a bounded Caffeine cache. A bucket unused for as long as it takes to fill up again is dropped (a
 * new one starts full, which is the same), and at most {@code maxKeys} are kept.
 */
public final class LocalTokenBuckets implements TokenBuckets {
  private final double perSecond;
  private final int burst;
  private final LongSupplier nanoClock;
  private final Cache<Long, ClockedBucket> buckets;

  /** Buckets on {@link System#nanoTime()}. */
  public LocalTokenBuckets(double perSecond, int burst, long maxKeys) {
    this(perSecond, burst, maxKeys, System::nanoTime);
  }

  /** Buckets whose time is {@code nanoClock} (tests pass their own). */
  public LocalTokenBuckets(double perSecond, int burst, long maxKeys, LongSupplier nanoClock) {
    this.perSecond = perSecond;
    this.burst = burst;
    this.nanoClock = nanoClock;
    this.buckets =
        Caffeine.newBuilder()
            .maximumSize(maxKeys)
            .expireAfterAccess(refillTime(perSecond, burst))
            .build();
  }

  /** How long an empty bucket takes to fill up again (at least a second). */
  static Duration refillTime(double perSecond, int burst) {
    return Duration.ofNanos(Math.max(1_000_000_000L, (long) Math.ceil(burst * 1e9 / perSecond)));
  }

  @Override
  public CompletionStage<Taken> take(long key, int wanted) {
    return CompletableFuture.completedFuture(takeNow(key, wanted));
  }

  /** {@link #take}, answered at once. */
  public Taken takeNow(long key, int wanted) {
    long nanos = nanoClock.getAsLong();
    ClockedBucket b = buckets.get(key, k -> new ClockedBucket(perSecond, burst, nanos));
    int got = b.take(wanted, nanos);
    return new Taken(got, b.nanosToToken(nanos));
  }

  @Override
  public long knownWait(long key) {
    ClockedBucket b = buckets.getIfPresent(key);
    return b == null ? 0 : b.nanosToToken(nanoClock.getAsLong());
  }
}
