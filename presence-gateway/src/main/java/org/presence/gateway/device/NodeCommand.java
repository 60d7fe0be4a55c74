package org.presence.gateway.device;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.presence.protocol.json.Json;

/**
 * A command one node sends another on the latter's bus channel {@link #channel} (the one definition
 * of that channel and its format): end one of its device sessions. UTF-8 JSON {@code
 * {"type":"replace"|"disconnect","session_id":"<uuid>"}}; other fields are ignored.
 *
 * @param type what to do with the session
 * @param session the session
 */
record NodeCommand(Type type, UUID session) {
  /** What the receiving node does. */
  enum Type {
    /** The device connected again elsewhere: end the session as replaced. */
    REPLACE,
    /** The operator disconnected the user: abort the session. */
    DISCONNECT;

    String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  NodeCommand {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(session, "session");
  }

  /** The bus channel of node {@code nodeId}. */
  static String channel(String nodeId) {
    return "presence.node." + nodeId;
  }

  byte[] encode() {
    ByteArrayOutputStream out = new ByteArrayOutputStream(80);
    try (JsonGenerator g = Json.internal().createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("type", type.wireName());
      g.writeStringField("session_id", session.toString());
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /**
   * Reads a command; empty when the message is well-formed but not a command this node knows (a
   * newer node's, during a rolling upgrade).
   *
   * @throws IOException when the message is not JSON or names no valid session
   */
  static Optional<NodeCommand> decode(byte[] message) throws IOException {
    String type = null;
    String session = null;
    try (JsonParser p = Json.internal().createParser(message)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IOException("expected a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        if ("type".equals(name) && v == JsonToken.VALUE_STRING) {
          type = p.getText();
        } else if ("session_id".equals(name) && v == JsonToken.VALUE_STRING) {
          session = p.getText();
        } else {
          p.skipChildren();
        }
      }
    }
    Type t =
        "replace".equals(type) ? Type.REPLACE : "disconnect".equals(type) ? Type.DISCONNECT : null;
    if (t == null) {
      return Optional.empty();
    }
    if (session == null) {
      throw new IOException("command " + type + " without a session_id");
    }
    try {
      return Optional.of(new NodeCommand(t, UUID.fromString(session)));
    } catch (IllegalArgumentException e) {
      throw new IOException("bad session_id " + session, e);
    }
  }
}
