package org.presence.store.queue;

import java.time.Instant;
import java.util.Objects;

/**
 * A live notification waiting in its (user, app) queue (wiki section 6).
 *
 * @param id random id, unique; devices acknowledge and apps get receipts by it
 * @param appId the application that sent it
 * @param puid the PUID the application sent it to: the user as that application knows them, echoed
 *     in its receipts
 * @param source the application's name at the time it was sent, shown to the user
 * @param message the text to show, at most 512 characters
 * @param action a URL or app URI to open, at most 512 characters
 * @param createdAt when Presence stored it
 * @param expiresAt after this it is delivered as missed, not actionable
 * @param receipts whether the app asked for receipts (delivered, acted on, dismissed, missed)
 */
public record Notification(
    String id,
    long appId,
    String puid,
    String source,
    String message,
    String action,
    Instant createdAt,
    Instant expiresAt,
    boolean receipts) {
  public Notification {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(puid, "puid");
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(message, "message");
    Objects.requireNonNull(action, "action");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(expiresAt, "expiresAt");
  }

  /** Whether it can no longer be acted on at {@code now}. */
  public boolean missedAt(Instant now) {
    return !now.isBefore(expiresAt);
  }
}
