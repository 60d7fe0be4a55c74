package org.presence.store.queue;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.presence.protocol.json.Json;

/**
 * How a queued {@link Notification} is stored in Redis: its id, a space, then a JSON object of the
 * other fields. The id prefix lets the Lua scripts find an item by id without parsing JSON.
 */
final class NotificationCodec {
  private NotificationCodec() {}

  static byte[] encode(Notification n) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    out.writeBytes((n.id() + " ").getBytes(StandardCharsets.US_ASCII));
    try (JsonGenerator g = Json.documents().createGenerator(out)) {
      g.writeStartObject();
      g.writeNumberField("a", n.appId());
      g.writeStringField("u", n.puid());
      g.writeStringField("s", n.source());
      g.writeStringField("m", n.message());
      g.writeStringField("x", n.action());
      g.writeNumberField("c", n.createdAt().toEpochMilli());
      g.writeNumberField("e", n.expiresAt().toEpochMilli());
      g.writeBooleanField("r", n.receipts());
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  static Notification decode(byte[] stored) {
    int space = 0;
    while (space < stored.length && stored[space] != ' ') {
      space++;
    }
    String id = new String(stored, 0, space, StandardCharsets.US_ASCII);
    long appId = 0;
    String puid = "";
    String source = "";
    String message = "";
    String action = "";
    long created = 0;
    long expires = 0;
    boolean receipts = false;
    try (JsonParser p =
        Json.documents().createParser(stored, space + 1, stored.length - space - 1)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IOException("not an object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String f = p.currentName();
        p.nextToken();
        switch (f) {
          case "a" -> appId = p.getLongValue();
          case "u" -> puid = p.getText();
          case "s" -> source = p.getText();
          case "m" -> message = p.getText();
          case "x" -> action = p.getText();
          case "c" -> created = p.getLongValue();
          case "e" -> expires = p.getLongValue();
          case "r" -> receipts = p.getBooleanValue();
          default -> p.skipChildren();
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("corrupt queued notification " + id, e);
    }
    return new Notification(
        id,
        appId,
        puid,
        source,
        message,
        action,
        Instant.ofEpochMilli(created),
        Instant.ofEpochMilli(expires),
        receipts);
  }
}
