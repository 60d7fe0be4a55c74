package org.presence.gateway.fanout;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.presence.store.permission.Grant;
import org.presence.store.presence.PresenceChange;
import org.presence.store.presence.PresenceUpdate;
import org.presence.store.presence.StatusBatches;
import org.presence.store.updates.AppUpdate;
import org.presence.store.updates.OneApp;

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
    if (previous == null || previous.isDone()) {
      run(userSub, update, mine);
    } else {
      previous.whenComplete((v, e) -> run(userSub, update, mine));
    }
    return mine;
  }

  /**
   * Sends the user's changes and completes {@code mine} when they are handed on. When every step
   * answers at once (cached grants, the in-memory log), nothing is chained: no stage per step.
   */
  private void run(String userSub, PresenceUpdate update, CompletableFuture<Void> mine) {
    CompletableFuture<?> sent = send(userSub, update).toCompletableFuture();
    if (sent.isDone() && !sent.isCompletedExceptionally()) {
      tails.remove(userSub, mine);
      mine.complete(null);
      return;
    }
    sent.whenComplete(
        (v, e) -> {
          tails.remove(userSub, mine);
          if (e != null) {
            // As a stage chained on the send would see it.
            mine.completeExceptionally(
                e instanceof CompletionException ? e : new CompletionException(e));
          } else {
            mine.complete(null);
          }
        });
  }

  private CompletionStage<?> send(String userSub, PresenceUpdate update) {
    CompletableFuture<List<Grant>> found = grants.of(userSub).toCompletableFuture();
    if (found.isDone() && !found.isCompletedExceptionally()) {
      try {
        return sendTo(found.join(), update);
      } catch (RuntimeException e) {
        return CompletableFuture.failedFuture(e);
      }
    }
    return found.thenCompose(list -> sendTo(list, update));
  }

  private CompletionStage<?> sendTo(List<Grant> list, PresenceUpdate update) {
    Map<Long, List<AppUpdate.New>> all = updatesFor(list, update);
    if (all.isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    // Every application's updates go into one log call (one batch of the publisher); the map and
    // its lists are new and unchanging, so the publisher keeps them as they are.
    return publisher.publishOwned(all);
  }

  @Override
  public CompletionStage<?> ready(String userSub) {
    return grants.of(userSub);
  }

  @Override
  public CompletionStage<List<Grant>> grants(String user) {
    return grants.of(user);
  }

  @Override
  public Map<Long, List<AppUpdate.New>> updatesFor(List<Grant> list, PresenceUpdate update) {
    // Usually one change is seen by one grant: that update alone, in a map and list of one,
    // built without the general case's map of maps.
    AppUpdate.New first = null;
    long firstApp = 0;
    Map<Long, List<AppUpdate.New>> more = null;
    for (PresenceChange change : update.changes()) {
      for (Grant g : list) {
        if (!g.enabled() || !sees(g.appId(), change, update)) {
          continue;
        }
        AppUpdate.New u =
            new AppUpdate.New(
                g.puid(),
                change.status(),
                change.message() == null ? "" : change.message(),
                change.version(),
                AppUpdate.Kind.CHANGE);
        if (first == null) {
          first = u;
          firstApp = g.appId();
        } else if (more == null && g.appId() == firstApp && g.puid().equals(first.puid())) {
          first = u;
        } else {
          if (more == null) {
            more = new LinkedHashMap<>();
            more.put(firstApp, new ArrayList<>(List.of(first)));
          }
          put(more.computeIfAbsent(g.appId(), a -> new ArrayList<>(4)), u);
        }
      }
    }
    if (more != null) {
      more.replaceAll((app, updates) -> List.copyOf(updates));
      return more;
    }
    return first == null ? Map.of() : OneApp.of(firstApp, List.of(first));
  }

  /**
   * Adds {@code u} to one application's updates, in place of the one for the same PUID if there is
   * one (which keeps its position: first seen, last one wins).
   */
  private static void put(List<AppUpdate.New> updates, AppUpdate.New u) {
    for (int i = 0; i < updates.size(); i++) {
      if (updates.get(i).puid().equals(u.puid())) {
        updates.set(i, u);
        return;
      }
    }
    updates.add(u);
  }

  @Override
  public CompletionStage<?> publishAll(Map<Long, List<AppUpdate.New>> byApp) {
    return publisher.publishAll(byApp);
  }

  @Override
  public void delivered(Map<Long, List<AppUpdate>> numberedByApp) {
    publisher.delivered(numberedByApp);
  }

  private static boolean sees(long appId, PresenceChange change, PresenceUpdate update) {
    return change.forAllApps() ? !update.ownScopes().contains(appId) : change.appId() == appId;
  }

  /** Users whose changes are being handled now, for tests. */
  int inFlight() {
    return tails.size();
  }
}
