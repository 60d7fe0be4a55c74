package org.presence.store.updates;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The in-memory {@link WebhookState} of the embedded default: one process, so the lease matters
 * only between its own senders, but it keeps the same rules (expiry included) as the cluster's.
 */
public final class LocalWebhookState implements WebhookState {
  private record Lease(String node, long untilMillis) {}

  private final Clock clock;
  private final Map<Long, Lease> leases = new ConcurrentHashMap<>();
  private final Map<Long, Cursor> cursors = new ConcurrentHashMap<>();
  private final Set<Long> pending = ConcurrentHashMap.newKeySet();

  public LocalWebhookState() {
    this(Clock.systemUTC());
  }

  /** With another clock (tests). */
  public LocalWebhookState(Clock clock) {
    this.clock = clock;
  }

  @Override
  public CompletionStage<Boolean> acquire(long appId, String node, Duration ttl) {
    long now = clock.millis();
    Lease after =
        leases.compute(
            appId,
            (k, cur) ->
                cur == null || cur.untilMillis <= now || cur.node.equals(node)
                    ? new Lease(node, now + ttl.toMillis())
                    : cur);
    boolean mine = after.node.equals(node);
    if (mine) {
      pending.add(appId);
    }
    return CompletableFuture.completedFuture(mine);
  }

  @Override
  public CompletionStage<Boolean> renew(long appId, String node, Duration ttl) {
    long now = clock.millis();
    boolean[] ok = new boolean[1];
    leases.computeIfPresent(
        appId,
        (k, cur) -> {
          if (cur.node.equals(node) && cur.untilMillis > now) {
            ok[0] = true;
            return new Lease(node, now + ttl.toMillis());
          }
          return cur;
        });
    return CompletableFuture.completedFuture(ok[0]);
  }

  @Override
  public CompletionStage<Void> release(long appId, String node, boolean done) {
    boolean[] mine = new boolean[1];
    leases.computeIfPresent(
        appId,
        (k, cur) -> {
          mine[0] = cur.node.equals(node);
          return mine[0] ? null : cur;
        });
    if (mine[0] && done) {
      pending.remove(appId);
    }
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletionStage<List<Long>> pending() {
    return CompletableFuture.completedFuture(new ArrayList<>(pending));
  }

  @Override
  public CompletionStage<Optional<Cursor>> cursor(long appId) {
    return CompletableFuture.completedFuture(Optional.ofNullable(cursors.get(appId)));
  }

  @Override
  public CompletionStage<Cursor> initCursor(long appId, Cursor initial) {
    return CompletableFuture.completedFuture(cursors.computeIfAbsent(appId, k -> initial));
  }

  @Override
  public CompletionStage<Boolean> saveCursor(long appId, String node, Cursor cursor) {
    Lease l = leases.get(appId);
    if (l == null || !l.node.equals(node) || l.untilMillis <= clock.millis()) {
      return CompletableFuture.completedFuture(false);
    }
    cursors.put(appId, cursor);
    return CompletableFuture.completedFuture(true);
  }
}
