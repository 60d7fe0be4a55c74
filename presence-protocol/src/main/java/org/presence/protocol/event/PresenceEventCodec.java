package org.presence.protocol.event;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.json.Json;
import org.presence.protocol.model.PresenceStatus;

/**
 * The bus form of a {@link PresenceEvent}: {@code {"type":"presence","app_id":421,"puid":"...",
 * "status":"online","message":"...","version":1700000000000000,"at":1700000000000,"seq":17}}
 * ({@code message} absent when there is none, {@code seq} when the update was not numbered).
 * Written by the node that made the change, read by whatever delivers presence to applications.
 */
public final class PresenceEventCodec {
  /** The {@code type} of presence events, so other kinds may share a channel later. */
  public static final String TYPE = "presence";

  private PresenceEventCodec() {}

  /** The JSON bytes of {@code e}. */
  public static byte[] encode(PresenceEvent e) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(160);
    try (JsonGenerator g = Json.documents().createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("type", TYPE);
      g.writeNumberField("app_id", e.appId());
      g.writeStringField("puid", e.puid());
      g.writeStringField("status", e.status().wireName());
      if (e.message() != null) {
        g.writeStringField("message", e.message());
      }
      g.writeNumberField("version", e.version());
      g.writeNumberField("at", e.at());
      if (e.seq() != 0) {
        g.writeNumberField("seq", e.seq());
      }
      g.writeEndObject();
    } catch (IOException x) {
      throw new UncheckedIOException(x);
    }
    return out.toByteArray();
  }

  /**
   * The event in {@code bytes}.
   *
   * @throws ProtocolException ({@link ErrorCode#MALFORMED_JSON} or a field error) when it is none
   */
  public static PresenceEvent decode(byte[] bytes) {
    try (JsonParser p = Json.documents().createParser(bytes)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new ProtocolException(ErrorCode.MALFORMED_JSON, "expected a JSON object");
      }
      String type = null;
      Long appId = null;
      String puid = null;
      PresenceStatus status = null;
      String message = null;
      Long version = null;
      Long at = null;
      long seq = 0;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        switch (name) {
          case "type" -> type = v == JsonToken.VALUE_STRING ? p.getText() : null;
          case "app_id" -> appId = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : null;
          case "puid" -> puid = v == JsonToken.VALUE_STRING ? p.getText() : null;
          case "status" ->
              status =
                  v == JsonToken.VALUE_STRING
                      ? PresenceStatus.fromWire(p.getText()).orElse(null)
                      : null;
          case "message" -> message = v == JsonToken.VALUE_STRING ? p.getText() : null;
          case "version" -> version = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : null;
          case "at" -> at = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : null;
          case "seq" -> seq = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : 0;
          default -> p.skipChildren();
        }
      }
      if (!TYPE.equals(type)
          || appId == null
          || puid == null
          || status == null
          || version == null
          || at == null) {
        throw new ProtocolException(ErrorCode.MISSING_FIELD, "not a complete presence event");
      }
      return new PresenceEvent(appId, puid, status, message, version, at, seq);
    } catch (IOException x) {
      throw new ProtocolException(ErrorCode.MALFORMED_JSON, null, x);
    }
  }
}
