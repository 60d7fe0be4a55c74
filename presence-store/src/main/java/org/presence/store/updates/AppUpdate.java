package org.presence.store.updates;

import java.time.Instant;
import java.util.Objects;
import org.presence.protocol.model.PresenceStatus;

/**
 * One presence update in an application's log: a PUID's new status, numbered.
 *
 * @param seq the update's number in its application's log: consecutive and increasing per app,
 *     across nodes
 * @param puid the user as the application knows them
 * @param status the user's presence
 * @param message the custom status message, or empty
 * @param at when the log took it
 */
public record AppUpdate(long seq, String puid, PresenceStatus status, String message, Instant at) {
  public AppUpdate {
    Objects.requireNonNull(puid, "puid");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(message, "message");
    Objects.requireNonNull(at, "at");
  }

  /** An update before the log numbered it. */
  public record New(String puid, PresenceStatus status, String message) {
    public New {
      Objects.requireNonNull(puid, "puid");
      Objects.requireNonNull(status, "status");
      Objects.requireNonNull(message, "message");
    }
  }
}
