package org.presence.protocol.device;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;

/**
 * A message of the device channel, the WebSocket at {@code /presence} (wiki, "1. Device Channel to
 * Mozilla Presence"): one JSON object per text frame. Devices send {@link Connect}, {@link
 * StatusUpdate}, {@link RegisterPush}, {@link Acknowledge} and {@link Dismiss}; the server answers
 * with {@link Connected}, {@link Ack} or {@link ErrorReply}, and pushes {@link Notifications} (wiki
 * section 6, seed 002 "Live notifications") and {@link Settings} on its own. {@link DeviceCodec}
 * reads and writes them; {@code docs/device-protocol.md} and {@code docs/notifications.md} show
 * every frame.
 *
 * <p>Values are small and immutable. Optional fields are {@code null} when absent.
 */
public sealed interface DeviceMessage {
  /** Longest device id: {@code [A-Za-z0-9._:-]}, 1 to 64 characters. */
  int MAX_DEVICE_ID_LENGTH = 64;

  /** Longest push presence id ({@code xpi}): {@code [A-Za-z0-9._:-]}, 1 to 128 characters. */
  int MAX_PRESENCE_ID_LENGTH = 128;

  /** Most notification ids in one {@link Acknowledge} or {@link Dismiss}. */
  int MAX_NOTIFICATION_IDS = 100;

  /** Longest notification id: {@code [A-Za-z0-9._:-]}, 1 to 64 characters. */
  int MAX_NOTIFICATION_ID_LENGTH = 64;

  /** Whether {@code device} is a well-formed device id. */
  static boolean validDeviceId(String device) {
    return Chars.identifier(device, MAX_DEVICE_ID_LENGTH);
  }

  /** Whether {@code xpi} is a well-formed push presence id. */
  static boolean validPresenceId(String xpi) {
    return Chars.identifier(xpi, MAX_PRESENCE_ID_LENGTH);
  }

  /**
   * The session request, {@code {"type": "connect", "assertion": "...", "application_ids": [421],
   * "device": "phone-1"}}.
   *
   * @param assertion the signed identity token (a JWT)
   * @param applicationIds the applications this device's presence goes to, or {@code null} for
   *     every application the user granted
   * @param device a stable id of the device, or {@code null}: a connection without one is its own
   *     device and never replaces another
   */
  record Connect(String assertion, ApplicationIds applicationIds, String device)
      implements DeviceMessage {
    public Connect {
      Objects.requireNonNull(assertion, "assertion");
    }
  }

  /**
   * A status update, {@code {"type": "status", "session_id": "...", "status": "online", "message":
   * "...", "application_ids": [421]}}.
   *
   * @param sessionId the session the update belongs to
   * @param status the device's status
   * @param message the custom status text, or {@code null}
   * @param applicationIds for this update only, the applications to tell instead of the connect
   *     list; {@code null} keeps the connect list
   */
  record StatusUpdate(
      UUID sessionId, PresenceStatus status, String message, ApplicationIds applicationIds)
      implements DeviceMessage {
    public StatusUpdate {
      Objects.requireNonNull(sessionId, "sessionId");
      Objects.requireNonNull(status, "status");
    }
  }

  /**
   * Ties the device's push-server presence id to the session's user and device, {@code {"type":
   * "register_push", "session_id": "...", "xpi": "..."}}, so that a push server can report the
   * device's status later (seed 000, Client-Mappings). Sending it again with a new id re-ties the
   * device after a push re-registration.
   *
   * @param sessionId the session
   * @param presenceId the presence id the device gave its push server ({@code xpi})
   */
  record RegisterPush(UUID sessionId, String presenceId) implements DeviceMessage {
    public RegisterPush {
      Objects.requireNonNull(sessionId, "sessionId");
      Objects.requireNonNull(presenceId, "presenceId");
    }
  }

  /**
   * The user acted on live notifications (the wiki's "response considered acknowledgement": the
   * device switched to the application), {@code {"type": "acknowledge", "session_id": "...", "ids":
   * ["..."]}}.
   *
   * @param sessionId the session
   * @param ids the notifications' ids, 1 to {@link #MAX_NOTIFICATION_IDS}, in frame order
   */
  record Acknowledge(UUID sessionId, List<String> ids) implements DeviceMessage {
    public Acknowledge {
      Objects.requireNonNull(sessionId, "sessionId");
      ids = List.copyOf(ids);
    }
  }

  /**
   * The user dismissed live notifications, {@code {"type": "dismiss", "session_id": "...", "ids":
   * ["..."]}}.
   *
   * @param sessionId the session
   * @param ids the notifications' ids, 1 to {@link #MAX_NOTIFICATION_IDS}, in frame order
   */
  record Dismiss(UUID sessionId, List<String> ids) implements DeviceMessage {
    public Dismiss {
      Objects.requireNonNull(sessionId, "sessionId");
      ids = List.copyOf(ids);
    }
  }

  /**
   * One live notification as a device receives it, an item of {@link Notifications}.
   *
   * @param id the notification's id, what {@link Acknowledge} and {@link Dismiss} name
   * @param appId the application that sent it ({@code appid} on the wire)
   * @param source the application's name, to show as the sender
   * @param message the text to show (data: a device must not render it as markup)
   * @param action the URL or app URI to open when the user acts on it
   * @param expiresAt until when it may be acted on, epoch milliseconds ({@code expires})
   * @param missed whether it arrives after that (the wiki's "missed": to be kept apart, no longer
   *     actionable); absent on the wire when false
   */
  record LiveNotification(
      String id,
      long appId,
      String source,
      String message,
      String action,
      long expiresAt,
      boolean missed) {
    public LiveNotification {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(source, "source");
      Objects.requireNonNull(message, "message");
      Objects.requireNonNull(action, "action");
    }
  }

  /**
   * Live notifications pushed by the server, {@code {"notifications": [{"id": "...", "appid": 421,
   * "source": "...", "message": "...", "action": "...", "expires": 1700000000000}]}} (seed 002).
   */
  record Notifications(List<LiveNotification> notifications) implements DeviceMessage {
    public Notifications {
      notifications = List.copyOf(notifications);
    }
  }

  /**
   * The user's settings changed (seed 000's presence policy, seed 004's custom status and away
   * messages), pushed by the server to every open session of the user, {@code {"settings":
   * {"online_within_minutes": 5, "away_after_minutes": 10, "offline_after_minutes": 25,
   * "custom_status": "...", "away_message": "..."}}}: the same fields as {@code GET /api/settings}.
   *
   * @param onlineWithinMinutes show online when the device was used within this many minutes
   * @param awayAfterMinutes show away when it was not used for at least this many minutes
   * @param offlineAfterMinutes show offline when it was not used for at least this many minutes
   * @param customStatus the message a status {@code online} without its own carries ("": none)
   * @param awayMessage the message {@code away} and {@code unavailable} without their own carry
   */
  record Settings(
      int onlineWithinMinutes,
      int awayAfterMinutes,
      int offlineAfterMinutes,
      String customStatus,
      String awayMessage)
      implements DeviceMessage {
    public Settings {
      Objects.requireNonNull(customStatus, "customStatus");
      Objects.requireNonNull(awayMessage, "awayMessage");
    }
  }

  /**
   * The answer to a good session request, {@code {"result": true, "session_id": "...",
   * "expires_at": 1700000000000}}.
   *
   * @param sessionId the new session
   * @param expiresAt when the connect's identity token expires (milliseconds since the epoch; 0:
   *     not said): send a {@link Refresh} before then
   */
  record Connected(UUID sessionId, long expiresAt) implements DeviceMessage {
    public Connected {
      Objects.requireNonNull(sessionId, "sessionId");
    }

    /** An answer that does not say when the identity expires. */
    public Connected(UUID sessionId) {
      this(sessionId, 0);
    }
  }

  /**
   * A new identity token for the open session, {@code {"type": "refresh", "assertion": "..."}}: it
   * must name the session's user; the session then lasts until the new token's expiry.
   *
   * @param assertion the signed identity token (a JWT)
   */
  record Refresh(String assertion) implements DeviceMessage {
    public Refresh {
      Objects.requireNonNull(assertion, "assertion");
    }
  }

  /**
   * The answer to an accepted {@link Refresh}, {@code {"result": true, "expires_at":
   * 1700000000000}}.
   *
   * @param expiresAt when the new identity token expires (milliseconds since the epoch)
   */
  record Refreshed(long expiresAt) implements DeviceMessage {}

  /** The answer to an accepted update, {@code {"result": true}}. */
  record Ack() implements DeviceMessage {
    /** The one instance. */
    public static final Ack INSTANCE = new Ack();
  }

  /**
   * An error, {@code {"result": false, "errno": 34, "reason": "Invalid assertion"}}. A negative
   * errno means the session is lost and the socket closes.
   *
   * @param errno the wire code
   * @param reason the human-readable reason
   */
  record ErrorReply(int errno, String reason) implements DeviceMessage {
    public ErrorReply {
      Objects.requireNonNull(reason, "reason");
    }

    /** The reply for {@code code} with its reason (and {@code detail}, if any). */
    public static ErrorReply of(ErrorCode code, String detail) {
      return new ErrorReply(code.errno(), code.reasonWith(detail));
    }

    /** The error code, when this errno is one this build knows. */
    public Optional<ErrorCode> code() {
      return ErrorCode.fromErrno(errno);
    }
  }
}
