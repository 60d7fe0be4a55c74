package org.presence.store.limit;

import java.util.concurrent.CompletionStage;

/**
 * Token buckets shared by every node of a deployment, one per key (an application's id), all with
 * the same rate and burst: {@code perSecond} tokens a second up to {@code burst}, full when first
 * used. A caller takes as many tokens as a whole batch needs in one call.
 *
 * <p>Two implementations: {@link LocalTokenBuckets} (Bucket4j buckets in this process: the embedded
 * default, where one node is the deployment) and {@link RedisTokenBuckets} (one bucket per key in
 * Redis, taken by one script call, so every node draws on the same tokens). One contract suite runs
 * against both.
 */
public interface TokenBuckets {
  /**
   * What a {@link #take} got.
   *
   * @param got tokens taken, from 0 to the number wanted
   * @param nanosToNext nanoseconds until the bucket holds a token again; 0 while it holds one
   */
  record Taken(int got, long nanosToNext) {}

  /** Takes up to {@code wanted} tokens from {@code key}'s bucket. */
  CompletionStage<Taken> take(long key, int wanted);

  /**
   * Nanoseconds until {@code key}'s bucket holds a token, as far as this node knows without asking
   * anyone (0: it may hold one). Exact for the local buckets; for the shared ones, what the last
   * {@link #take} of this node learnt, so a caller can refuse at once while a bucket is known to be
   * empty.
   */
  long knownWait(long key);
}
