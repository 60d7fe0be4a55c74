package org.presence.protocol.api;

import com.fasterxml.jackson.core.JsonGenerator;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.json.Json;

/**
 * The error body every transport sends: {@code {"result": false, "errno": N, "reason": "..."}}, as
 * in the wiki's device channel. HTTP answers use the same body with the code's HTTP status.
 */
public final class ErrorBody {
  private ErrorBody() {}

  /** Appends the error body for {@code e} to {@code out}. */
  public static void write(ProtocolException e, ByteBuf out) {
    write(e.code(), e.reason(), out);
  }

  /** Appends the error body for {@code code} with the given reason text to {@code out}. */
  public static void write(ErrorCode code, String reason, ByteBuf out) {
    try (JsonGenerator g = Json.generator(out)) {
      writeFields(g, code, reason);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Writes the error object with the generator, for callers composing a larger document. */
  public static void writeFields(JsonGenerator g, ErrorCode code, String reason)
      throws IOException {
    g.writeStartObject();
    g.writeBooleanField("result", false);
    g.writeNumberField("errno", code.errno());
    g.writeStringField("reason", reason == null ? code.reason() : reason);
    g.writeEndObject();
  }
}
