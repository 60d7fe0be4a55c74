package org.presence.protocol.app;

import java.util.Objects;
import org.presence.protocol.model.PresenceStatus;

/**
 * The values carried by the app update channel ({@code /<appid>}) and the stream ({@code
 * /<appid>/presence.json}), as {@link AppCodec} reads and writes them ({@code
 * docs/app-updates.md}).
 */
public final class AppFrames {
  private AppFrames() {}

  /**
   * The first frame of an update connection: {@code {"key": "<API key>", "since": 17}}.
   *
   * @param key the application's API key
   * @param since the last update number the application saw, or {@code -1} for none (a snapshot
   *     first)
   */
  public record KeyFrame(String key, long since) {
    public KeyFrame {
      Objects.requireNonNull(key, "key");
    }

    /** Whether the application asked to resume after {@link #since}. */
    public boolean resumes() {
      return since >= 0;
    }
  }

  /**
   * One presence update: {@code {"UID": "<PUID>", "status": "online", "message": "...", "seq":
   * 17}}.
   *
   * @param puid the user as the application knows them
   * @param status the user's presence
   * @param message the custom message, or empty (then not written)
   * @param seq the update's number, increasing per application
   */
  public record Update(String puid, PresenceStatus status, String message, long seq) {}

  /**
   * One user in a snapshot: {@code {"UID": "<PUID>", "status": "away", "message": "..."}}.
   *
   * @param puid the user as the application knows them
   * @param status the user's presence (never offline: offline users are left out)
   * @param message the custom message, or empty (then not written)
   */
  public record SnapshotEntry(String puid, PresenceStatus status, String message) {}

  /**
   * A live notification's receipt, forwarded from the notification feature: {@code {"id": "...",
   * "UID": "<PUID>", "state": "delivered", "at": 1700000000000}}.
   *
   * @param id the notification's id
   * @param puid the user as the application knows them
   * @param state {@code delivered}, {@code acted}, {@code dismissed} or {@code missed}
   * @param at when it happened, epoch milliseconds
   */
  public record Receipt(String id, String puid, String state, long at) {}
}
