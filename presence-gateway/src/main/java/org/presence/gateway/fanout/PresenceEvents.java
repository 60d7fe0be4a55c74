package org.presence.gateway.fanout;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.store.presence.PresenceUpdate;

/**
 * Where real presence changes go once the {@link org.presence.store.presence.PresenceStateStore}
 * reported them: to every application that may see them, as {@link
 * org.presence.protocol.event.PresenceEvent}s. The device channel calls it; {@link
 * LoggedPresenceEvents} numbers them in each application's update log and publishes them (one log
 * call and one bus message per application for a batch of changes).
 */
public interface PresenceEvents {
  /**
   * Publishes the changes of {@code update} for {@code userSub} (nothing when it has none). Changes
   * of one user published through one instance leave in the order of the calls.
   *
   * @param now when the changes happened, epoch milliseconds
   * @return completes when every event was handed to the bus; fails if one could not be
   */
  CompletionStage<Void> publish(String userSub, PresenceUpdate update, long now);

  /**
   * Completes once what publishing {@code userSub}'s changes needs is at hand (the user's grants,
   * read through their cache); fails when it cannot be read. A status is stored only after it
   * completed, so that a stored status is never one whose changes cannot be published.
   */
  default CompletionStage<?> ready(String userSub) {
    return CompletableFuture.completedFuture(null);
  }
}
