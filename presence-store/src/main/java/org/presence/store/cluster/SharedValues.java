package org.presence.store.cluster;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Small values every node can read, each kept for a while, and short claims on names: what one node
 * worked out (an application's presence counts) for the others to reuse instead of working it out
 * again. In Redis in a cluster ({@link RedisSharedValues}); {@link #none()} in the embedded
 * default, where there is no other node to share with.
 */
public interface SharedValues {
  /** The value stored under {@code name}, if one is there and its time has not run out. */
  CompletionStage<Optional<String>> get(String name);

  /**
   * Stores {@code value} under {@code name} for {@code ttl}, over what was there, and ends {@code
   * holder}'s {@linkplain #claim claim} on {@code name} if it still holds it (the work it claimed
   * is done); another holder's claim is left.
   */
  CompletionStage<Void> put(String name, String value, Duration ttl, String holder);

  /**
   * Claims {@code name} for {@code holder} for {@code ttl} unless a claim on it runs (the holder's
   * own included): true when this call took it. A claim ends when it runs out, or when its holder
   * {@linkplain #put puts} a value under the name or {@linkplain #release releases} it.
   */
  CompletionStage<Boolean> claim(String name, String holder, Duration ttl);

  /** Ends {@code holder}'s claim on {@code name} if it still holds it (its work failed). */
  CompletionStage<Void> release(String name, String holder);

  /** Nothing shared: nothing is found, stores are dropped, every claim is taken. */
  static SharedValues none() {
    return new SharedValues() {
      @Override
      public CompletionStage<Optional<String>> get(String name) {
        return CompletableFuture.completedFuture(Optional.empty());
      }

      @Override
      public CompletionStage<Void> put(String name, String value, Duration ttl, String holder) {
        return CompletableFuture.completedFuture(null);
      }

      @Override
      public CompletionStage<Boolean> claim(String name, String holder, Duration ttl) {
        return CompletableFuture.completedFuture(true);
      }

      @Override
      public CompletionStage<Void> release(String name, String holder) {
        return CompletableFuture.completedFuture(null);
      }
    };
  }
}
