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
 * @param version the user's presence version of the change (0 when it has none); internal: it is
 *     shared by all of a user's applications and never shown to one
 * @param at when the log took it
 */
public record AppUpdate(
    long seq, String puid, PresenceStatus status, String message, long version, Instant at) {
  public AppUpdate {
    Objects.requireNonNull(puid, "puid");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(message, "message");
    Objects.requireNonNull(at, "at");
  }

  /** What an update does besides carrying a status (see {@link AppUpdateLog#append}). */
  public enum Kind {
    /** A change of the user's presence; dropped when stale or while the PUID is paused. */
    CHANGE,
    /** The user paused or revoked the grant: an offline update, then nothing for the PUID. */
    PAUSE,
    /** The user resumed (or made) the grant: the current presence, and changes flow again. */
    RESUME
  }

  /**
   * An update before the log numbered it.
   *
   * @param puid the user as the application knows them
   * @param status the user's presence
   * @param message the custom status message, or empty
   * @param version the user's presence version of the change, or 0 for none (never stale)
   * @param kind a change, a pause or a resume
   */
  public record New(String puid, PresenceStatus status, String message, long version, Kind kind) {
    public New {
      Objects.requireNonNull(puid, "puid");
      Objects.requireNonNull(status, "status");
      Objects.requireNonNull(message, "message");
      Objects.requireNonNull(kind, "kind");
    }

    /** A change without a version. */
    public New(String puid, PresenceStatus status, String message) {
      this(puid, status, message, 0, Kind.CHANGE);
    }
  }
}
