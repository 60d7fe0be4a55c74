package org.presence.store.limit;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.TimeMeter;
import io.github.bucket4j.local.SynchronizationStrategy;
import java.time.Duration;

/**
 * A Bucket4j token bucket read at a time its caller passes in ({@link System#nanoTime()} in
 * production, any value in a test): {@code perSecond} tokens a second (greedy refill, one token
 * each {@code 1/perSecond} s), up to {@code burst}, full when made. Every method is synchronized
 * and sets the bucket's clock before asking it, so the bucket itself needs no synchronization of
 * its own. A time earlier than the last one seen refills nothing.
 */
public final class ClockedBucket implements TimeMeter {
  private final Bucket bucket;
  private long now;

  /** A full bucket at {@code nanos}. */
  public ClockedBucket(double perSecond, int burst, long nanos) {
    if (!(perSecond > 0) || burst < 1) {
      throw new IllegalArgumentException("a bucket needs a positive rate and burst");
    }
    this.now = nanos;
    this.bucket =
        Bucket.builder()
            .withCustomTimePrecision(this)
            .withSynchronizationStrategy(SynchronizationStrategy.NONE)
            .addLimit(limit -> limit.capacity(burst).refillGreedy(1, perToken(perSecond)))
            .build();
  }

  /** The time one token takes to come back at {@code perSecond} (at least a nanosecond). */
  public static Duration perToken(double perSecond) {
    return Duration.ofNanos(Math.max(1, (long) Math.ceil(1e9 / perSecond)));
  }

  /** Takes up to {@code wanted} tokens at {@code nanos}; returns how many it got. */
  public synchronized int take(int wanted, long nanos) {
    now = nanos;
    return wanted <= 0 ? 0 : (int) bucket.tryConsumeAsMuchAsPossible(wanted);
  }

  /** Takes one token at {@code nanos} if there is one. */
  public synchronized boolean tryTake(long nanos) {
    now = nanos;
    return bucket.tryConsume(1);
  }

  /**
   * Takes one token at {@code nanos} even when there is none, so the bucket goes below empty;
   * returns the tokens left (negative once overdrawn).
   */
  public synchronized long takeOverdrawn(long nanos) {
    now = nanos;
    bucket.consumeIgnoringRateLimits(1);
    return bucket.getAvailableTokens();
  }

  /** Gives back {@code tokens} taken at {@code nanos} (never above the burst). */
  public synchronized void giveBack(int tokens, long nanos) {
    now = nanos;
    bucket.addTokens(tokens);
  }

  /** Nanoseconds from {@code nanos} until the bucket holds a token (0: it holds one now). */
  public synchronized long nanosToToken(long nanos) {
    now = nanos;
    return bucket.estimateAbilityToConsume(1).getNanosToWaitForRefill();
  }

  /** Whole tokens in the bucket at {@code nanos} (negative while overdrawn). */
  public synchronized long available(long nanos) {
    now = nanos;
    return bucket.getAvailableTokens();
  }

  /** The bucket's clock: the time of the call in progress. */
  @Override
  public long currentTimeNanos() {
    return now;
  }

  @Override
  public boolean isWallClockBased() {
    return false;
  }
}
