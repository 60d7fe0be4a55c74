package org.presence.protocol.event;

import java.util.Objects;
import org.presence.protocol.model.PresenceStatus;

/**
 * A change of a user's presence as one application may see it, published on the bus channel {@code
 * presence.app.<appId>} ({@code docs/bus.md}). It names the user only by the PUID the application
 * knows; never by the user's identity or email.
 *
 * @param appId the application
 * @param puid the application's pseudonymous id of the user
 * @param status the user's presence as this application sees it
 * @param message the custom message, or {@code null}
 * @param version the user's presence version: it increases with every change, so a consumer can
 *     drop a change that arrives after a newer one (changes made on different nodes may cross on
 *     the bus). Internal: shared by all of a user's applications, it must not be shown to them
 * @param at when the change happened, epoch milliseconds
 * @param seq the update's number in the application's log ({@code AppUpdateLog}), or 0 when it was
 *     not numbered
 */
public record PresenceEvent(
    long appId,
    String puid,
    PresenceStatus status,
    String message,
    long version,
    long at,
    long seq) {
  public PresenceEvent {
    Objects.requireNonNull(puid, "puid");
    Objects.requireNonNull(status, "status");
  }

  /** An event not numbered by a log. */
  public PresenceEvent(
      long appId, String puid, PresenceStatus status, String message, long version, long at) {
    this(appId, puid, status, message, version, at, 0);
  }
}
