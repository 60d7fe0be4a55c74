package org.presence.store.cluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@link NodeRegistry} of the embedded default. Every node in the process shares it; a node
 * that stops renewing is never declared dead here, since a process cannot outlive itself: its state
 * dies with it.
 */
public final class LocalNodeRegistry implements NodeRegistry {
  private final Set<String> nodes = ConcurrentHashMap.newKeySet();

  @Override
  public CompletionStage<Boolean> heartbeat(String nodeId, Duration lease) {
    return CompletableFuture.completedFuture(!nodes.add(nodeId));
  }

  @Override
  public CompletionStage<List<String>> expired() {
    return CompletableFuture.completedFuture(List.of());
  }

  /** Nobody expires here, and no node of another version can share this process's registry. */
  @Override
  public CompletionStage<Survey> survey() {
    return CompletableFuture.completedFuture(new Survey(List.of(), List.of()));
  }

  @Override
  public CompletionStage<Boolean> claim(String deadNodeId, String claimer) {
    return CompletableFuture.completedFuture(false);
  }

  @Override
  public CompletionStage<Void> cleaned(String deadNodeId, String claimer) {
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletionStage<Void> leave(String nodeId) {
    nodes.remove(nodeId);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletionStage<List<String>> alive() {
    return CompletableFuture.completedFuture(new ArrayList<>(nodes));
  }

  /** Lease name to {holder, end in nanoTime}. */
  private final ConcurrentHashMap<String, Object[]> leases = new ConcurrentHashMap<>();

  @Override
  public CompletionStage<Boolean> holdLease(String name, String holder, Duration ttl) {
    long now = System.nanoTime();
    Object[] held =
        leases.compute(
            name,
            (k, cur) ->
                cur == null || cur[0].equals(holder) || (long) cur[1] - now <= 0
                    ? new Object[] {holder, now + ttl.toNanos()}
                    : cur);
    return CompletableFuture.completedFuture(held[0].equals(holder));
  }
}
