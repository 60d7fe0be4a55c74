package org.presence.store.limit;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/** {@link ConnectionCounts} of this process; a key with no connection takes no memory. */
public final class LocalConnectionCounts implements ConnectionCounts {
  private final ConcurrentHashMap<Long, Integer> open = new ConcurrentHashMap<>();

  @Override
  public CompletionStage<Boolean> open(long key, int max) {
    boolean[] counted = new boolean[1];
    open.compute(
        key,
        (k, n) -> {
          int now = n == null ? 0 : n;
          if (now >= max) {
            return n;
          }
          counted[0] = true;
          return now + 1;
        });
    return CompletableFuture.completedFuture(counted[0]);
  }

  @Override
  public CompletionStage<Void> closed(long key) {
    open.computeIfPresent(key, (k, n) -> n <= 1 ? null : n - 1);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletionStage<Integer> count(long key) {
    return CompletableFuture.completedFuture(open.getOrDefault(key, 0));
  }

  @Override
  public void close() {
    open.clear();
  }
}
