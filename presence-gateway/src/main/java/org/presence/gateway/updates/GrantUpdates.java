package org.presence.gateway.updates;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.gateway.fanout.AppUpdatePublisher;
import org.presence.gateway.permission.GrantService;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.permission.Grant;
import org.presence.store.presence.PresenceStateStore;
import org.presence.store.presence.PresenceView;
import org.presence.store.updates.AppUpdate;

/**
 * What a grant change tells its application, through the application's update log (so the channel,
 * the stream and the webhook all see it, in order):
 *
 * <ul>
 *   <li>pause and revoke: {@code offline} for the PUID, and from then on nothing (the log drops
 *       later changes of a paused PUID, even from a node whose grant cache has not heard of the
 *       pause yet); the user's answer waits until the log took it;
 *   <li>resume and a new grant: the user's current presence (nothing when offline). It is read
 *       after the grant caches of every node were told (the invalidation is published first), and
 *       the log drops whatever a node sends that is not newer, so the application sees each change
 *       once. A change made on another node in the moment before that node's cache heard of the
 *       grant is not sent; the next one is.
 * </ul>
 */
final class GrantUpdates implements GrantService.Listener {
  private final AppUpdatePublisher publisher;
  private final PresenceStateStore state;

  GrantUpdates(AppUpdatePublisher publisher, PresenceStateStore state) {
    this.publisher = publisher;
    this.state = state;
  }

  @Override
  public CompletionStage<Void> changed(GrantService.Change change, Grant grant) {
    return switch (change) {
      case PAUSED, REVOKED ->
          publisher
              .publish(
                  grant.appId(),
                  List.of(
                      new AppUpdate.New(
                          grant.puid(), PresenceStatus.OFFLINE, "", 0, AppUpdate.Kind.PAUSE)))
              .thenApply(v -> null);
      case RESUMED, GRANTED -> {
        if (!grant.enabled()) {
          // A grant confirmed again while paused stays paused.
          yield CompletableFuture.completedFuture(null);
        }
        yield current(
            grant,
            change == GrantService.Change.RESUMED ? AppUpdate.Kind.RESUME : AppUpdate.Kind.CHANGE);
      }
    };
  }

  /**
   * Sends what the application sees of the user now (as {@code kind}). A resume always goes to the
   * log, which unpauses the PUID (and sends nothing for an offline user); a new grant of an offline
   * user sends nothing (the application counts a user it has not heard of as offline).
   */
  private CompletionStage<Void> current(Grant grant, AppUpdate.Kind kind) {
    return state
        .presence(grant.userSub())
        .thenCompose(
            p -> {
              PresenceView v = p.seenBy(grant.appId());
              if (kind == AppUpdate.Kind.CHANGE && v.status() == PresenceStatus.OFFLINE) {
                return CompletableFuture.completedFuture(null);
              }
              return publisher
                  .publish(
                      grant.appId(),
                      List.of(
                          new AppUpdate.New(
                              grant.puid(),
                              v.status(),
                              v.message() == null ? "" : v.message(),
                              v.version(),
                              kind)))
                  .thenApply(x -> null);
            });
  }
}
