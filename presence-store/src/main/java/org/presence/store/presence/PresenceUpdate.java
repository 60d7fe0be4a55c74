package org.presence.store.presence;

import java.util.List;
import org.presence.protocol.model.ApplicationIds;

/**
 * The outcome of changing one device in the {@link PresenceStateStore}.
 *
 * @param applied false when the caller's session does not own the device (it was replaced, or the
 *     device was released); nothing changed then
 * @param changes the real changes of what audiences see, empty when nothing visible changed
 * @param ownScopes the applications that have their own audience (because a device names them in
 *     its {@code application_ids}); a change for {@link PresenceChange#ALL_APPS} is not for them
 */
public record PresenceUpdate(
    boolean applied, List<PresenceChange> changes, ApplicationIds ownScopes) {
  /** Refused: the session is not the device's owner. */
  public static final PresenceUpdate NOT_OWNER =
      new PresenceUpdate(false, List.of(), ApplicationIds.NONE);

  /** Applied, with no visible change. */
  public static final PresenceUpdate UNCHANGED =
      new PresenceUpdate(true, List.of(), ApplicationIds.NONE);

  public PresenceUpdate {
    changes = List.copyOf(changes);
  }
}
