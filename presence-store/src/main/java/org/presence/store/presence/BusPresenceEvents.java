package org.presence.store.presence;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.presence.protocol.event.PresenceEvent;
import org.presence.protocol.event.PresenceEventCodec;
import org.presence.store.bus.PresenceBus;
import org.presence.store.permission.Grant;
import org.presence.store.updates.AppUpdatePublisher;

/**
 * Publishes presence changes on the bus, one {@link PresenceEvent} per application grant that may
 * see the change: the user's grants that are enabled (not paused), and of those, for a change of
 * one application's audience that application only, for a change of the shared audience every
 * application except those with an audience of their own.
 *
 * <p>The grants come from a {@link Grants} lookup (the gateway passes its cached one). A user's
 * changes are published one after the other, in call order: each waits for the previous one's grant
 * lookup and publication, so events of one user leave this node in order. The chain of a user is
 * dropped once it has run.
 */
public final class BusPresenceEvents implements PresenceEvents {
  /** Where a user's grants come from. */
  @FunctionalInterface
  public interface Grants {
    /** The user's live grants; paused ones may be included (they are skipped). */
    CompletionStage<List<Grant>> of(String userSub);
  }

  private final PresenceBus bus;
  private final Grants grants;
  private final ConcurrentHashMap<String, CompletableFuture<Void>> tails =
      new ConcurrentHashMap<>();

  public BusPresenceEvents(PresenceBus bus, Grants grants) {
    this.bus = bus;
    this.grants = grants;
  }

  @Override
  public CompletionStage<Void> publish(String userSub, PresenceUpdate update, long now) {
    if (update.changes().isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    @SuppressWarnings("unchecked")
    CompletableFuture<Void>[] mine = new CompletableFuture[1];
    tails.compute(
        userSub,
        (k, previous) -> {
          CompletableFuture<Void> after =
              previous == null
                  ? CompletableFuture.completedFuture(null)
                  : previous.handle((v, e) -> null);
          mine[0] = after.thenCompose(v -> send(userSub, update, now)).toCompletableFuture();
          return mine[0];
        });
    CompletableFuture<Void> done = mine[0];
    done.whenComplete((v, e) -> tails.remove(userSub, done));
    return done;
  }

  private CompletionStage<Void> send(String userSub, PresenceUpdate update, long now) {
    return grants
        .of(userSub)
        .thenCompose(
            list -> {
              List<CompletableFuture<Void>> sent = new ArrayList<>();
              for (PresenceChange change : update.changes()) {
                for (Grant g : list) {
                  if (!g.enabled() || !sees(g.appId(), change, update)) {
                    continue;
                  }
                  PresenceEvent event =
                      new PresenceEvent(
                          g.appId(),
                          g.puid(),
                          change.status(),
                          change.message(),
                          change.version(),
                          now);
                  sent.add(
                      bus.publish(
                              AppUpdatePublisher.channel(g.appId()),
                              PresenceEventCodec.encode(event))
                          .toCompletableFuture());
                }
              }
              return CompletableFuture.allOf(sent.toArray(new CompletableFuture[0]));
            });
  }

  private static boolean sees(long appId, PresenceChange change, PresenceUpdate update) {
    return change.forAllApps() ? !update.ownScopes().contains(appId) : change.appId() == appId;
  }

  /** Users whose changes are being published now, for tests. */
  int inFlight() {
    return tails.size();
  }
}
