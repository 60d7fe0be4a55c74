package org.presence.store.presence;

import org.presence.protocol.model.PresenceStatus;

/**
 * A user's own messages (their settings: seed 004's "custom status message" and "custom away
 * message"): what a status that carries no message of its own shows. A device's own message wins.
 *
 * @param online the custom status message, shown with {@code online}; {@code null} for none
 * @param away the away message, shown with {@code away} and {@code unavailable}; {@code null} for
 *     none
 */
public record UserMessages(String online, String away) {
  /** No messages of the user's own. */
  public static final UserMessages NONE = new UserMessages(null, null);

  public UserMessages {
    online = online == null || online.isEmpty() ? null : online;
    away = away == null || away.isEmpty() ? null : away;
  }

  /**
   * The message shown with {@code status} when the device that set it sent {@code own} ({@code
   * null} or {@code ""}: none): its own, else the user's for that status; {@code null} when offline
   * or when there is none.
   */
  public String effective(PresenceStatus status, String own) {
    if (status == null || status == PresenceStatus.OFFLINE) {
      return null;
    }
    if (own != null && !own.isEmpty()) {
      return own;
    }
    return status == PresenceStatus.ONLINE ? online : away;
  }
}
