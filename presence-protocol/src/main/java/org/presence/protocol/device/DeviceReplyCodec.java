package org.presence.protocol.device;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.presence.protocol.device.DeviceMessage.Ack;
import org.presence.protocol.device.DeviceMessage.Connected;
import org.presence.protocol.device.DeviceMessage.ErrorReply;
import org.presence.protocol.device.DeviceMessage.LiveNotification;
import org.presence.protocol.device.DeviceMessage.Notifications;
import org.presence.protocol.device.DeviceMessage.Refreshed;
import org.presence.protocol.device.DeviceMessage.Settings;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.json.Json;

/**
 * The client side of the device channel: decodes the frames a node sends ({@link DeviceCodec}
 * decodes what devices send, and encodes both). Lenient where the node's own decoder is strict:
 * unknown fields are skipped and fields of the wrong type read as absent, so a newer node's answers
 * still decode. For the node's tests (their device client reads Netty buffers); not on the node's
 * hot path. Clients (the load harness, the daemon) read through presence-client's {@code
 * DeviceFrames}.
 */
public final class DeviceReplyCodec {
  private DeviceReplyCodec() {}

  /**
   * Decodes a frame of the server: {@link Connected}, {@link Ack}, {@link ErrorReply}, pushed
   * {@link Notifications} or {@link Settings}. For clients and tests; not on the server's hot path.
   *
   * @throws ProtocolException ({@link ErrorCode#MALFORMED_JSON}) when the frame is none of them
   */
  public static DeviceMessage decode(ByteBuf frame) {
    // Pushed notification frames are larger than requests (up to about 40 KiB).
    try (JsonParser p = Json.parser(Json.documents(), frame)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new ProtocolException(ErrorCode.MALFORMED_JSON, "expected a JSON object");
      }
      Boolean result = null;
      String session = null;
      Integer errno = null;
      String reason = null;
      List<LiveNotification> notifications = null;
      Settings settings = null;
      long expiresAt = -1;
      JsonToken t;
      while ((t = p.nextToken()) != JsonToken.END_OBJECT) {
        if (t != JsonToken.FIELD_NAME) {
          throw new ProtocolException(ErrorCode.MALFORMED_JSON, "expected a field name");
        }
        String name = p.currentName();
        JsonToken v = p.nextToken();
        switch (name) {
          case "result" ->
              result =
                  v == JsonToken.VALUE_TRUE
                      ? Boolean.TRUE
                      : v == JsonToken.VALUE_FALSE ? Boolean.FALSE : null;
          case "session_id" -> session = v == JsonToken.VALUE_STRING ? p.getText() : null;
          case "errno" -> errno = v == JsonToken.VALUE_NUMBER_INT ? p.getIntValue() : null;
          case "reason" -> reason = v == JsonToken.VALUE_STRING ? p.getText() : null;
          case "notifications" -> notifications = readNotifications(p, v);
          case "settings" -> settings = readSettings(p, v);
          case "expires_at" -> expiresAt = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1;
          default -> p.skipChildren();
        }
      }
      if (notifications != null) {
        return new Notifications(notifications);
      }
      if (settings != null) {
        return settings;
      }
      if (Boolean.TRUE.equals(result)) {
        if (session == null) {
          return expiresAt >= 0 ? new Refreshed(expiresAt) : Ack.INSTANCE;
        }
        UUID id = Chars.uuid(session.toCharArray(), 0, session.length());
        if (id == null) {
          throw new ProtocolException(ErrorCode.MALFORMED_JSON, "session_id is not a UUID");
        }
        return new Connected(id, Math.max(0, expiresAt));
      }
      if (Boolean.FALSE.equals(result) && errno != null) {
        return new ErrorReply(errno, reason == null ? "" : reason);
      }
      throw new ProtocolException(ErrorCode.MALFORMED_JSON, "not a device channel answer");
    } catch (JsonProcessingException e) {
      throw new ProtocolException(ErrorCode.MALFORMED_JSON, DeviceCodec.detail(e), e);
    } catch (IOException e) {
      throw new ProtocolException(ErrorCode.MALFORMED_JSON, DeviceCodec.cut(e.getMessage()), e);
    }
  }

  private static Settings readSettings(JsonParser p, JsonToken start) throws IOException {
    if (start != JsonToken.START_OBJECT) {
      throw new ProtocolException(ErrorCode.MALFORMED_JSON, "settings is not an object");
    }
    int online = 0;
    int away = 0;
    int offline = 0;
    String customStatus = "";
    String awayMessage = "";
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken v = p.nextToken();
      switch (name) {
        case "online_within_minutes" ->
            online = v == JsonToken.VALUE_NUMBER_INT ? p.getIntValue() : 0;
        case "away_after_minutes" -> away = v == JsonToken.VALUE_NUMBER_INT ? p.getIntValue() : 0;
        case "offline_after_minutes" ->
            offline = v == JsonToken.VALUE_NUMBER_INT ? p.getIntValue() : 0;
        case "custom_status" -> customStatus = v == JsonToken.VALUE_STRING ? p.getText() : "";
        case "away_message" -> awayMessage = v == JsonToken.VALUE_STRING ? p.getText() : "";
        default -> p.skipChildren();
      }
    }
    return new Settings(online, away, offline, customStatus, awayMessage);
  }

  private static List<LiveNotification> readNotifications(JsonParser p, JsonToken start)
      throws IOException {
    if (start != JsonToken.START_ARRAY) {
      throw new ProtocolException(ErrorCode.MALFORMED_JSON, "notifications is not a list");
    }
    List<LiveNotification> out = new ArrayList<>();
    JsonToken t;
    while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
      if (t != JsonToken.START_OBJECT) {
        throw new ProtocolException(ErrorCode.MALFORMED_JSON, "a notification is not an object");
      }
      String id = null;
      long appId = 0;
      String source = null;
      String message = null;
      String action = null;
      long expires = 0;
      boolean missed = false;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        switch (name) {
          case "id" -> id = v == JsonToken.VALUE_STRING ? p.getText() : null;
          case "appid" -> appId = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : 0;
          case "source" -> source = v == JsonToken.VALUE_STRING ? p.getText() : null;
          case "message" -> message = v == JsonToken.VALUE_STRING ? p.getText() : null;
          case "action" -> action = v == JsonToken.VALUE_STRING ? p.getText() : null;
          case "expires" -> expires = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : 0;
          case "missed" -> missed = v == JsonToken.VALUE_TRUE;
          default -> p.skipChildren();
        }
      }
      if (id == null || source == null || message == null || action == null) {
        throw new ProtocolException(ErrorCode.MALFORMED_JSON, "incomplete notification");
      }
      out.add(new LiveNotification(id, appId, source, message, action, expires, missed));
    }
    return out;
  }
}
