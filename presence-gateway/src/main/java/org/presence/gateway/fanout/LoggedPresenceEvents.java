package org.presence.gateway.fanout;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.presence.store.permission.Grant;
import org.presence.store.presence.PresenceChange;
import org.presence.store.presence.PresenceUpdate;
import org.presence.store.presence.StatusBatches;
import org.presence.store.updates.AppUpdate;

/**
 * Presence changes to applications through their update logs: for each real change, one update per
 * enabled grant that may see it (a change for all applications: every application outside the
 * user's own scopes; else only the change's application), and never more than one per application
 * and PUID for one call (so one change costs an application at most one update per distinct PUID
 * the user granted it; their number is capped by {@code grants.max-per-app}), named by PUID only,
 * grouped per application, numbered by the application's log and published on the bus by an {@link
 * AppUpdatePublisher}. This is the producer side of the app update channel, stream and webhooks:
 * each update gets its number exactly once, on the node where the change happened.
 *
 * <p>This is the gateway's fan-out: the store only stores and publishes. The cluster's batched
 * status path ({@link StatusBatches}, whose Redis script decides a batch and appends to the logs in
 * one call) asks it, as its {@link StatusBatches.Fanout}, for the grants, the audience of a change
 * and the publisher.
 *
 * <p>A user's changes are handled one after the other, in call order (each waits for the previous
 * one's log append), so the changes of one user leave a node in order; changes of one user made on
 * two nodes are put in order by the log's per-PUID version guard.
 */
public final class LoggedPresenceEvents implements PresenceEvents, StatusBatches.Fanout {
  /** Where a user's grants come from. */
  @FunctionalInterface
  public interface Grants {
    /** The user's live grants; paused ones may be included (they are skipped). */
    CompletionStage<List<Grant>> of(String userSub);
  }

  private final AppUpdatePublisher publisher;
  private final Grants grants;
  private final ConcurrentHashMap<String, CompletableFuture<Void>> tails =
      new ConcurrentHashMap<>();

  public LoggedPresenceEvents(AppUpdatePublisher publisher, Grants grants) {
    this.publisher = publisher;
    this.grants = grants;
  }

  @Override
  public CompletionStage<Void> publish(String userSub, PresenceUpdate update, long now) {
    if (update.changes().isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    CompletableFuture<Void> mine = new CompletableFuture<>();
    // The user's previous call, if it is still running, goes first; usually there is none and
    // this one runs at once, on the caller's thread.
    CompletableFuture<Void> previous = tails.put(userSub, mine);
    Runnable run =
        () ->
            send(userSub, update)
                .whenComplete(
                    (v, e) -> {
                      tails.remove(userSub, mine);
                      if (e != null) {
                        mine.completeExceptionally(e);
                      } else {
                        mine.complete(null);
                      }
                    });
    if (previous == null || previous.isDone()) {
      run.run();
    } else {
      previous.whenComplete((v, e) -> run.run());
    }
    return mine;
  }

  private CompletionStage<Void> send(String userSub, PresenceUpdate update) {
    return grants
        .of(userSub)
        .thenCompose(
            list -> {
              Map<Long, List<AppUpdate.New>> all = updatesFor(list, update);
              if (all.isEmpty()) {
                return CompletableFuture.completedFuture(null);
              }
              // Every application's updates go into one log call (one batch of the publisher).
              return publisher.publishAll(all).thenApply(v -> (Void) null);
            });
  }

  @Override
  public CompletionStage<List<Grant>> grants(String user) {
    return grants.of(user);
  }

  @Override
  public Map<Long, List<AppUpdate.New>> updatesFor(List<Grant> list, PresenceUpdate update) {
    Map<Long, List<AppUpdate.New>> out = new LinkedHashMap<>();
    byApp(list, update).forEach((app, updates) -> out.put(app, List.copyOf(updates.values())));
    return out;
  }

  @Override
  public CompletionStage<?> publishAll(Map<Long, List<AppUpdate.New>> byApp) {
    return publisher.publishAll(byApp);
  }

  @Override
  public void delivered(Map<Long, List<AppUpdate>> numberedByApp) {
    publisher.delivered(numberedByApp);
  }

  /**
   * The updates of {@code update}'s changes for the enabled grants in {@code list} that see them,
   * by application and PUID: at most one update per application and PUID, whatever the changes and
   * the grant list hold (a later change for the same audience replaces an earlier one).
   */
  private static Map<Long, Map<String, AppUpdate.New>> byApp(
      List<Grant> list, PresenceUpdate update) {
    Map<Long, Map<String, AppUpdate.New>> byApp = new LinkedHashMap<>();
    for (PresenceChange change : update.changes()) {
      for (Grant g : list) {
        if (!g.enabled() || !sees(g.appId(), change, update)) {
          continue;
        }
        byApp
            .computeIfAbsent(g.appId(), a -> new LinkedHashMap<>(4))
            .put(
                g.puid(),
                new AppUpdate.New(
                    g.puid(),
                    change.status(),
                    change.message() == null ? "" : change.message(),
                    change.version(),
                    AppUpdate.Kind.CHANGE));
      }
    }
    return byApp;
  }

  private static boolean sees(long appId, PresenceChange change, PresenceUpdate update) {
    return change.forAllApps() ? !update.ownScopes().contains(appId) : change.appId() == appId;
  }

  /** Users whose changes are being handled now, for tests. */
  int inFlight() {
    return tails.size();
  }
}
