package org.presence.client;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The device protocol's frames without a transport (docs/device-protocol.md): the requests a device
 * sends, written as text frames, and the frames a node sends, read into {@link Frame}s. {@link
 * DeviceClient} speaks through it over the JDK's WebSocket; a program that brings its own WebSocket
 * (one Netty event loop holding many sessions, as the load harness does, or a phone's HTTP stack)
 * speaks the same protocol through it, and keeps for itself the order of answers (one per request,
 * in request order) and what to do on each.
 */
public final class DeviceFrames {
  private DeviceFrames() {}

  /** A frame from the node, as {@link #read} reads it. */
  public sealed interface Frame permits Accepted, Refused, Pushed, SettingsChanged {}

  /**
   * {@code {"result": true}}: a request was accepted. The answer to a {@code connect} carries the
   * new session's id; the answers to {@code connect} and {@code refresh} carry the identity's
   * expiry when the node knows it.
   *
   * @param sessionId the session id, or {@code null} when the answer has none
   * @param expiresAt the identity's expiry in milliseconds since the epoch, or 0 when not given
   */
  public record Accepted(String sessionId, long expiresAt) implements Frame {}

  /**
   * {@code {"result": false, "errno": N, "reason": "..."}}: a request was refused, or (a negative
   * errno) the session is ending.
   */
  public record Refused(int errno, String reason) implements Frame {}

  /** Pushed live notifications ({@code {"notifications": [...]}}), as sent (ids may repeat). */
  public record Pushed(List<DeviceClient.Notification> notifications) implements Frame {}

  /** A pushed {@code settings} frame: the user's presence policy and messages. */
  public record SettingsChanged(DeviceClient.Settings settings) implements Frame {}

  // ---------------------------------------------------------------------------------------------
  // Requests

  /**
   * The {@code connect} request that opens a session.
   *
   * @param device the device's stable id, or {@code null}
   * @param applicationIds the applications the device's presence goes to, or {@code null} for all
   */
  public static String connect(String assertion, String device, long[] applicationIds) {
    Objects.requireNonNull(assertion, "assertion");
    return ClientJson.write(
        g -> {
          g.writeStartObject();
          g.writeStringField("type", "connect");
          g.writeStringField("assertion", assertion);
          if (applicationIds != null) {
            g.writeArrayFieldStart("application_ids");
            for (long id : applicationIds) {
              g.writeNumber(id);
            }
            g.writeEndArray();
          }
          if (device != null) {
            g.writeStringField("device", device);
          }
          g.writeEndObject();
        });
  }

  /** A {@code status} request of session {@code sessionId}; {@code message} null or empty: none. */
  public static String status(String sessionId, PresenceStatus status, String message) {
    Objects.requireNonNull(status, "status");
    return ClientJson.write(
        g -> {
          g.writeStartObject();
          g.writeStringField("type", "status");
          g.writeStringField("session_id", sessionId);
          g.writeStringField("status", status.wire());
          if (message != null && !message.isEmpty()) {
            g.writeStringField("message", message);
          }
          g.writeEndObject();
        });
  }

  /** An {@code acknowledge} request: the user acted on the notifications {@code ids}. */
  public static String acknowledge(String sessionId, List<String> ids) {
    return answer("acknowledge", sessionId, ids);
  }

  /** A {@code dismiss} request: the user dismissed the notifications {@code ids}. */
  public static String dismiss(String sessionId, List<String> ids) {
    return answer("dismiss", sessionId, ids);
  }

  /** A {@code refresh} request: a new identity token for the open session. */
  public static String refresh(String assertion) {
    Objects.requireNonNull(assertion, "assertion");
    return ClientJson.write(
        g -> {
          g.writeStartObject();
          g.writeStringField("type", "refresh");
          g.writeStringField("assertion", assertion);
          g.writeEndObject();
        });
  }

  private static String answer(String type, String sessionId, List<String> ids) {
    return ClientJson.write(
        g -> {
          g.writeStartObject();
          g.writeStringField("type", type);
          g.writeStringField("session_id", sessionId);
          g.writeArrayFieldStart("ids");
          for (String id : ids) {
            g.writeString(id);
          }
          g.writeEndArray();
          g.writeEndObject();
        });
  }

  // ---------------------------------------------------------------------------------------------
  // Frames from the node

  /**
   * Whether {@code frame} is pushed by the node ({@code notifications} or {@code settings}) rather
   * than an answer, judged from its start as the node writes it, without reading it: for a client
   * that hands pushes on unread.
   */
  public static boolean isPushed(CharSequence frame) {
    return startsWith(frame, "{\"notifications\"") || startsWith(frame, "{\"settings\"");
  }

  private static boolean startsWith(CharSequence s, String prefix) {
    if (s.length() < prefix.length()) {
      return false;
    }
    for (int i = 0; i < prefix.length(); i++) {
      if (s.charAt(i) != prefix.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Reads a frame of the node. Unknown fields are skipped, so a newer node's frames still read.
   *
   * @throws PresenceException errno 10 when it is not JSON or none of the frames above
   */
  public static Frame read(String text) {
    Map<String, Object> m = ClientJson.object(ClientJson.read(text));
    if (m == null) {
      throw new PresenceException(10, 0, "Malformed frame from the node");
    }
    if (m.get("notifications") != null) {
      return new Pushed(notifications(ClientJson.list(m.get("notifications"))));
    }
    Map<String, Object> settings = ClientJson.object(m.get("settings"));
    if (settings != null) {
      return new SettingsChanged(
          new DeviceClient.Settings(
              (int) ClientJson.number(settings, "online_within_minutes", 0),
              (int) ClientJson.number(settings, "away_after_minutes", 0),
              (int) ClientJson.number(settings, "offline_after_minutes", 0),
              Objects.requireNonNullElse(ClientJson.string(settings, "custom_status"), ""),
              Objects.requireNonNullElse(ClientJson.string(settings, "away_message"), "")));
    }
    if (ClientJson.isTrue(m, "result")) {
      return new Accepted(
          ClientJson.string(m, "session_id"), ClientJson.number(m, "expires_at", 0));
    }
    return new Refused(
        (int) ClientJson.number(m, "errno", 0),
        Objects.requireNonNullElse(ClientJson.string(m, "reason"), ""));
  }

  private static List<DeviceClient.Notification> notifications(List<Object> items) {
    if (items == null) {
      throw new PresenceException(10, 0, "notifications is not a list");
    }
    List<DeviceClient.Notification> out = new ArrayList<>(items.size());
    for (Object o : items) {
      Map<String, Object> n = ClientJson.object(o);
      String id = n == null ? null : ClientJson.string(n, "id");
      if (id == null) {
        continue;
      }
      out.add(
          new DeviceClient.Notification(
              id,
              ClientJson.number(n, "appid", 0),
              Objects.requireNonNullElse(ClientJson.string(n, "source"), ""),
              Objects.requireNonNullElse(ClientJson.string(n, "message"), ""),
              Objects.requireNonNullElse(ClientJson.string(n, "action"), ""),
              ClientJson.number(n, "expires", 0),
              ClientJson.isTrue(n, "missed")));
    }
    return List.copyOf(out);
  }
}
