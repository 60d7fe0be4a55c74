package org.presence.gateway.device;

import com.codahale.metrics.Counter;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.gateway.fanout.PresenceEvents;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.store.presence.PresenceUpdate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the device channel's real presence changes go: the {@link PresenceEvents} (the
 * applications' update logs), counted ({@code presence.device.presence.changes}); a failed
 * publication is counted ({@code presence.device.presence.publish_failures}), logged and handed to
 * {@link UnpublishedChanges}, which publishes the user's presence once it can be, so {@link
 * #publish}'s stage never fails.
 */
final class PresenceChanges implements PresenceEvents {
  private static final Logger LOG = LoggerFactory.getLogger(PresenceChanges.class);

  private final PresenceEvents events;
  private final Counter changesCounter;
  private final Counter publishFailures;

  /** Where a change not published waits; {@code null}: nowhere (some tests). */
  private final UnpublishedChanges unpublished;

  PresenceChanges(PresenceEvents events, GatewayMetrics metrics) {
    this(events, metrics, null);
  }

  PresenceChanges(PresenceEvents events, GatewayMetrics metrics, UnpublishedChanges unpublished) {
    this.events = events;
    this.changesCounter = metrics.registry().counter("presence.device.presence.changes");
    this.publishFailures = metrics.registry().counter("presence.device.presence.publish_failures");
    this.unpublished = unpublished;
  }

  /** Publishes the real changes of {@code update}; the stage never fails (failures are logged). */
  @Override
  public CompletionStage<Void> publish(String user, PresenceUpdate update, long now) {
    if (update.changes().isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    changesCounter.inc(update.changes().size());
    CompletableFuture<Void> published = events.publish(user, update, now).toCompletableFuture();
    if (published.isDone() && !published.isCompletedExceptionally()) {
      // Published at once (the in-memory log): nothing to count or log, no stage to chain.
      return published;
    }
    return published.handle(
        (v, e) -> {
          if (e != null) {
            publishFailures.inc();
            LOG.warn(
                "presence change of a user not published (tried again later): {}", e.toString());
            if (unpublished != null) {
              unpublished.add(user, update);
            }
          }
          return null;
        });
  }

  @Override
  public CompletionStage<?> ready(String user) {
    return events.ready(user);
  }

  /**
   * Changes of {@code user} that the store stored but could not log (a status batch's, on a Redis
   * Cluster; logged there): counted as a failed publication and handed to {@link
   * UnpublishedChanges}. Must not block (called where the log call failed).
   */
  void unlogged(String user, PresenceUpdate update) {
    publishFailures.inc();
    if (unpublished != null) {
      unpublished.add(user, update);
    }
  }

  /** Counts {@code n} real changes that the store published itself (a status batch's). */
  void published(int n) {
    changesCounter.inc(n);
  }

  /** Publishes what waits now rather than at its time ({@link UnpublishedChanges#retryNow}). */
  void retryNow() {
    if (unpublished != null) {
      unpublished.retryNow();
    }
  }

  /** Users whose changes wait to be published again. */
  int unpublishedUsers() {
    return unpublished == null ? 0 : unpublished.waiting();
  }

  /** Stops publishing again what waits. */
  void close() {
    if (unpublished != null) {
      unpublished.close();
    }
  }

  /** Counts a publication that failed (logged by the caller). */
  void failed() {
    publishFailures.inc();
  }
}
