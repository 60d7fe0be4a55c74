package org.presence.store.limit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.BucketState;
import io.github.bucket4j.MathType;
import java.time.Duration;

/**
 * A token bucket read at a time its caller passes in ({@link System#nanoTime()} in production, any
 * value in a test): {@code perSecond} tokens a second (Bucket4j's greedy refill, one token each
 * {@code 1/perSecond} s, fractions carried over), up to {@code burst}, full when made. A time
 * earlier than the last one seen refills nothing. Thread-safe (every method is synchronized).
 *
 * <p>It keeps only Bucket4j's bucket state (about 80 bytes: the state and its array of three longs)
 * and shares the configuration with every bucket of the same rate and burst, rather than a whole
 * {@code Bucket} (about 300 bytes with its views and configuration), since a device session holds
 * one for days.
 */
public final class ClockedBucket {
  private record Limit(double perSecond, int burst) {}

  /** The configurations in use: one per configured rate and burst, so a handful. */
  private static final Cache<Limit, BucketConfiguration> CONFIGURATIONS =
      Caffeine.newBuilder().maximumSize(256).build();

  private final BucketState state;

  /** A full bucket at {@code nanos}. */
  public ClockedBucket(double perSecond, int burst, long nanos) {
    if (!(perSecond > 0) || burst < 1) {
      throw new IllegalArgumentException("a bucket needs a positive rate and burst");
    }
    BucketConfiguration configuration =
        CONFIGURATIONS.get(
            new Limit(perSecond, burst),
            l ->
                BucketConfiguration.builder()
                    .addLimit(limit -> limit.capacity(burst).refillGreedy(1, perToken(perSecond)))
                    .build());
    this.state = BucketState.createInitialState(configuration, MathType.INTEGER_64_BITS, nanos);
  }

  /** The time one token takes to come back at {@code perSecond} (at least a nanosecond). */
  public static Duration perToken(double perSecond) {
    return Duration.ofNanos(Math.max(1, (long) Math.ceil(1e9 / perSecond)));
  }

  /** Takes up to {@code wanted} tokens at {@code nanos}; returns how many it got. */
  public synchronized int take(int wanted, long nanos) {
    state.refillAllBandwidth(nanos);
    long got = Math.min(wanted, Math.max(0, state.getAvailableTokens()));
    if (got > 0) {
      state.consume(got);
    }
    return (int) got;
  }

  /** Takes one token at {@code nanos} if there is one. */
  public synchronized boolean tryTake(long nanos) {
    return take(1, nanos) == 1;
  }

  /**
   * Takes one token at {@code nanos} even when there is none, so the bucket goes below empty;
   * returns the tokens left (negative once overdrawn).
   */
  public synchronized long takeOverdrawn(long nanos) {
    state.refillAllBandwidth(nanos);
    state.consume(1);
    return state.getAvailableTokens();
  }

  /**
   * Whether the bucket, made with {@code burst}, is full again at {@code nanos}. A full bucket
   * carries no fraction of a token, so it then behaves exactly as a new one made at that time: a
   * holder may drop it and make a new one when it next needs it (the burst is not kept here, to
   * keep the object small).
   */
  public synchronized boolean isFull(long nanos, int burst) {
    state.refillAllBandwidth(nanos);
    return state.getAvailableTokens() >= burst;
  }

  /** Nanoseconds from {@code nanos} until the bucket holds a token (0: it holds one now). */
  public synchronized long nanosToToken(long nanos) {
    state.refillAllBandwidth(nanos);
    return state.calculateDelayNanosAfterWillBePossibleToConsume(1, nanos, false);
  }
}
