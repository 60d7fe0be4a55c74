package org.presence.gateway.device;

import java.time.Clock;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.presence.gateway.metrics.LatencyHistograms;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.error.StoreException;
import org.presence.store.presence.PresenceStateStore;
import org.presence.store.presence.PresenceUpdate;
import org.presence.store.presence.StatusBatches;

/**
 * The status updates of open sessions: each goes to the state store with the user's own messages
 * ({@link SettingsMessages#now}, never waited for), and its real changes out through {@link
 * PresenceChanges}. In a cluster the store decides and logs them in one call per batch ({@link
 * StatusBatches}, once {@linkplain #attach attached}); one process decides them in the state store
 * and then publishes them. Either way a status whose session no longer owns its device fails with
 * {@code SESSION_REPLACED}, and the time to its answer is counted ({@code deviceAck}).
 */
final class SessionStatuses {
  private final PresenceStateStore state;
  private final PresenceChanges changes;
  private final SettingsMessages messages;
  private final Clock clock;
  private final LatencyHistograms latency;

  /** The cluster's batched path; {@code null}: decide in the state store, then publish. */
  private volatile StatusBatches batches;

  /**
   * Per user with a status waiting for the grants (the one-process path), the turn of the last one:
   * completed once it went to the state store (or failed).
   */
  private final ConcurrentHashMap<String, CompletableFuture<Void>> waiting =
      new ConcurrentHashMap<>();

  SessionStatuses(
      PresenceStateStore state,
      PresenceChanges changes,
      SettingsMessages messages,
      Clock clock,
      LatencyHistograms latency) {
    this.state = state;
    this.changes = changes;
    this.messages = messages;
    this.clock = clock;
    this.latency = latency;
  }

  /**
   * Makes later updates go through {@code b} ({@code null}: no change); called once at start. The
   * changes {@code b} stores but cannot log (a Redis Cluster's log call failing after the state
   * call) go to {@link PresenceChanges#unlogged}, to be published later.
   */
  void attach(StatusBatches b) {
    if (b != null) {
      b.whenUnlogged(changes::unlogged);
    }
    this.batches = b;
  }

  /** As {@link DeviceService#status}. */
  CompletionStage<Void> update(
      String user,
      String device,
      UUID session,
      PresenceStatus status,
      String message,
      ApplicationIds applicationIds) {
    long now = clock.millis();
    long started = System.nanoTime();
    StatusBatches b = batches;
    CompletionStage<Void> done;
    if (b != null) {
      done =
          b.update(user, device, session, status, message, applicationIds, messages.now(user), now)
              .thenAccept(
                  u -> {
                    if (!u.applied()) {
                      throw new ProtocolException(ErrorCode.SESSION_REPLACED, null);
                    }
                    if (!u.changes().isEmpty()) {
                      changes.published(u.changes().size());
                    }
                  });
    } else {
      done = decideHere(user, device, session, status, message, applicationIds, now);
    }
    CompletableFuture<Void> f = done.toCompletableFuture();
    if (f.isDone()) {
      latency.deviceAck(System.nanoTime() - started, !f.isCompletedExceptionally());
      return f;
    }
    return f.whenComplete((v, e) -> latency.deviceAck(System.nanoTime() - started, e == null));
  }

  /**
   * The one-process path: once the user's grants are at hand ({@link PresenceChanges#ready}), the
   * state store decides the status, then its changes are published. A status whose grants cannot be
   * read fails with the store's error ({@code BACKEND_UNAVAILABLE}) and is not stored: stored, its
   * changes could never be published. A status that waits for the grants holds the user's later
   * ones, so that they reach the state store in order.
   */
  private CompletionStage<Void> decideHere(
      String user,
      String device,
      UUID session,
      PresenceStatus status,
      String message,
      ApplicationIds applicationIds,
      long now) {
    CompletableFuture<?> ready = changes.ready(user).toCompletableFuture();
    if (ready.isDone() && waiting.get(user) == null) {
      // Usually: the grants are cached and no status of the user waits.
      if (ready.isCompletedExceptionally()) {
        return CompletableFuture.failedFuture(
            StoreException.unavailable(ready.handle((v, e) -> e).getNow(null), "grants"));
      }
      return decide(user, device, session, status, message, applicationIds, now);
    }
    CompletableFuture<Void> turn = new CompletableFuture<>();
    CompletableFuture<Void> previous = waiting.put(user, turn);
    CompletableFuture<?> after = previous == null ? ready : previous.thenCompose(v -> ready);
    return after
        .handle((v, e) -> e)
        .thenCompose(
            e -> {
              try {
                if (e != null) {
                  return CompletableFuture.failedFuture(StoreException.unavailable(e, "grants"));
                }
                return decide(user, device, session, status, message, applicationIds, now);
              } finally {
                waiting.remove(user, turn);
                turn.complete(null);
              }
            });
  }

  /** Decides the status in the state store, then publishes its changes. */
  private CompletionStage<Void> decide(
      String user,
      String device,
      UUID session,
      PresenceStatus status,
      String message,
      ApplicationIds applicationIds,
      long now) {
    CompletionStage<Void> done;
    CompletableFuture<PresenceUpdate> decided =
        state
            .update(user, device, session, status, message, applicationIds, messages.now(user), now)
            .toCompletableFuture();
    if (decided.isDone() && !decided.isCompletedExceptionally()) {
      // Decided at once (the in-process store): published on this thread, no stage chained; a
      // publisher that throws fails the ack as it did inside thenCompose.
      try {
        done = publish(user, decided.join(), now);
      } catch (RuntimeException e) {
        done = CompletableFuture.failedFuture(new CompletionException(e));
      }
    } else {
      done = decided.thenCompose(u -> publish(user, u, now));
    }
    return done;
  }

  /** Publishes {@code u}'s changes; fails with {@code SESSION_REPLACED} when it was not applied. */
  private CompletionStage<Void> publish(String user, PresenceUpdate u, long now) {
    if (!u.applied()) {
      // As thrown in a stage: wrapped.
      return CompletableFuture.failedFuture(
          new CompletionException(new ProtocolException(ErrorCode.SESSION_REPLACED, null)));
    }
    return changes.publish(user, u, now);
  }
}
