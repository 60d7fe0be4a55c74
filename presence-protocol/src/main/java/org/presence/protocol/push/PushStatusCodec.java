package org.presence.protocol.push;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.netty.buffer.ByteBuf;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.json.Json;
import org.presence.protocol.model.PresenceStatus;

/**
 * Reads and writes {@link PushStatus} bodies. Unknown fields are skipped; errors carry the same
 * errnos as on the device channel: {@link ErrorCode#MALFORMED_JSON}, {@link
 * ErrorCode#DUPLICATE_FIELD}, {@link ErrorCode#MISSING_FIELD}, {@link ErrorCode#WRONG_FIELD_TYPE},
 * {@link ErrorCode#INVALID_FIELD_VALUE} (an {@code xpi} that is no presence id) and {@link
 * ErrorCode#INVALID_STATUS} (an {@code xps} other than {@code O}, {@code A}, {@code U}).
 */
public final class PushStatusCodec {
  private static final JsonFactory FACTORY = Json.build(16 * 1024, false);

  private PushStatusCodec() {}

  /** The report in the readable bytes of {@code body}; the buffer is not modified. */
  public static PushStatus decode(ByteBuf body) {
    try (JsonParser p = Json.parser(FACTORY, body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new ProtocolException(ErrorCode.MALFORMED_JSON, "expected a JSON object");
      }
      String xpi = null;
      String xps = null;
      boolean seenXpi = false;
      boolean seenXps = false;
      JsonToken t;
      while ((t = p.nextToken()) != JsonToken.END_OBJECT) {
        if (t != JsonToken.FIELD_NAME) {
          throw new ProtocolException(ErrorCode.MALFORMED_JSON, "expected a field name");
        }
        String name = p.currentName();
        JsonToken v = p.nextToken();
        if ("xpi".equals(name) || "xps".equals(name)) {
          boolean isXpi = "xpi".equals(name);
          if (isXpi ? seenXpi : seenXps) {
            throw new ProtocolException(ErrorCode.DUPLICATE_FIELD, name);
          }
          if (isXpi) {
            seenXpi = true;
          } else {
            seenXps = true;
          }
          if (v == JsonToken.VALUE_NULL) {
            continue;
          }
          if (v != JsonToken.VALUE_STRING) {
            throw new ProtocolException(ErrorCode.WRONG_FIELD_TYPE, name);
          }
          if (isXpi) {
            xpi = p.getText();
          } else {
            xps = p.getText();
          }
        } else {
          p.skipChildren();
        }
      }
      if (p.nextToken() != null) {
        throw new ProtocolException(ErrorCode.MALFORMED_JSON, "trailing content after the object");
      }
      if (xpi == null) {
        throw new ProtocolException(ErrorCode.MISSING_FIELD, "xpi");
      }
      if (xps == null) {
        throw new ProtocolException(ErrorCode.MISSING_FIELD, "xps");
      }
      if (!DeviceMessage.validPresenceId(xpi)) {
        throw new ProtocolException(ErrorCode.INVALID_FIELD_VALUE, "xpi");
      }
      PresenceStatus status =
          PresenceStatus.fromPushLetter(xps)
              .orElseThrow(() -> new ProtocolException(ErrorCode.INVALID_STATUS, "xps: O, A or U"));
      return new PushStatus(xpi, status);
    } catch (IOException e) {
      throw Json.refusal(e);
    }
  }

  /** The JSON body of {@code report}, for push servers and tests. */
  public static byte[] encode(PushStatus report) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(96);
    try (JsonGenerator g = Json.documents().createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("xpi", report.presenceId());
      g.writeStringField("xps", String.valueOf(report.status().pushLetter()));
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
