package org.presence.store.presence;

import java.util.Objects;
import org.presence.protocol.model.PresenceStatus;

/**
 * A user's presence as one audience last saw it: the most available status among the devices it may
 * see, with that device's message.
 *
 * @param status the status
 * @param message the custom message, or {@code null} (always {@code null} when offline)
 * @param version the user's presence version when this was published (0: never published)
 */
public record PresenceView(PresenceStatus status, String message, long version) {
  /** Offline with no message: what an audience sees of a user with no visible device. */
  public static final PresenceView OFFLINE = new PresenceView(PresenceStatus.OFFLINE, null, 0);

  public PresenceView {
    Objects.requireNonNull(status, "status");
  }

  /** Whether {@code other} shows the same status and message (versions aside). */
  public boolean sameAs(PresenceView other) {
    return status == other.status && Objects.equals(message, other.message);
  }
}
