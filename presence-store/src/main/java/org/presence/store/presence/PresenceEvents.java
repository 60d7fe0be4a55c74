package org.presence.store.presence;

import java.util.concurrent.CompletionStage;

/**
 * Where real presence changes go once the {@link PresenceStateStore} reported them: to every
 * application that may see them, as {@link org.presence.protocol.event.PresenceEvent}s. The device
 * channel calls it; {@link BusPresenceEvents} publishes on the bus. Kept small so that a
 * per-application log of sequenced updates can stand in front of the bus later.
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
}
