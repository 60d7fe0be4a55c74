package org.presence.gateway.notify;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.presence.protocol.json.Json;
import org.presence.store.queue.Notification;
import org.presence.store.queue.NotificationCodec;

/**
 * The wake-up a node sends another over the bus (channel {@code notifications.node.<node id>}): the
 * items just stored, with the user and the sessions of that node to push them to.
 *
 * <pre>
 * {"d": [{"u": "&lt;user&gt;", "s": ["&lt;session&gt;", ...],
 *         "n": [{"i": id, "a": app, "u": puid, "s": source, "m": message, "x": action,
 *                "c": created ms, "e": expires ms, "r": receipts, "p": puid, "o": source}, ...]},
 *        ...]}
 * </pre>
 *
 * <p>Each item is the notification format of the queue ({@link NotificationCodec#writeFields}) with
 * its id as {@code "i"}. Nodes before that shared format named the PUID {@code "p"} and the source
 * {@code "o"}: for rolling upgrades (docs/cluster.md) items still carry those two keys, and a
 * wake-up from an older node, without {@code "u"} and {@code "s"}, is still read.
 */
final class WakeCodec {
  /** Items for the sessions of one user on one node. */
  record Delivery(String user, List<UUID> sessions, List<Notification> items) {}

  private WakeCodec() {}

  static byte[] encode(List<Delivery> deliveries) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(512);
    try (JsonGenerator g = Json.documents().createGenerator(out)) {
      g.writeStartObject();
      g.writeArrayFieldStart("d");
      for (Delivery d : deliveries) {
        g.writeStartObject();
        g.writeStringField("u", d.user());
        g.writeArrayFieldStart("s");
        for (UUID s : d.sessions()) {
          g.writeString(s.toString());
        }
        g.writeEndArray();
        g.writeArrayFieldStart("n");
        for (Notification n : d.items()) {
          g.writeStartObject();
          g.writeStringField("i", n.id());
          NotificationCodec.writeFields(g, n);
          g.writeStringField("p", n.puid());
          g.writeStringField("o", n.source());
          g.writeEndObject();
        }
        g.writeEndArray();
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /**
   * Reads a wake-up.
   *
   * @throws IOException when it is not one
   */
  static List<Delivery> decode(byte[] message) throws IOException {
    try (JsonParser p = Json.documents().createParser(message)) {
      expect(p.nextToken(), JsonToken.START_OBJECT);
      List<Delivery> out = new ArrayList<>();
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String f = p.currentName();
        JsonToken v = p.nextToken();
        if (!"d".equals(f)) {
          p.skipChildren();
          continue;
        }
        expect(v, JsonToken.START_ARRAY);
        while (p.nextToken() == JsonToken.START_OBJECT) {
          out.add(delivery(p));
        }
      }
      return out;
    }
  }

  private static Delivery delivery(JsonParser p) throws IOException {
    String user = null;
    List<UUID> sessions = new ArrayList<>();
    List<Notification> items = new ArrayList<>();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String f = p.currentName();
      JsonToken v = p.nextToken();
      switch (f) {
        case "u" -> user = p.getText();
        case "s" -> {
          expect(v, JsonToken.START_ARRAY);
          while (p.nextToken() == JsonToken.VALUE_STRING) {
            sessions.add(UUID.fromString(p.getText()));
          }
        }
        case "n" -> {
          expect(v, JsonToken.START_ARRAY);
          while (p.nextToken() == JsonToken.START_OBJECT) {
            items.add(item(p));
          }
        }
        default -> p.skipChildren();
      }
    }
    if (user == null) {
      throw new IOException("delivery without a user");
    }
    return new Delivery(user, sessions, items);
  }

  private static Notification item(JsonParser p) throws IOException {
    String id = null;
    NotificationCodec.Fields fields = new NotificationCodec.Fields();
    String legacyPuid = null;
    String legacySource = null;
    boolean puid = false;
    boolean source = false;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String f = p.currentName();
      p.nextToken();
      switch (f) {
        case "i" -> id = p.getText();
        case "p" -> legacyPuid = p.getText();
        case "o" -> legacySource = p.getText();
        default -> {
          if (fields.read(f, p)) {
            puid |= f.equals("u");
            source |= f.equals("s");
          } else {
            p.skipChildren();
          }
        }
      }
    }
    if (id == null) {
      throw new IOException("notification without an id");
    }
    if (!puid && legacyPuid != null) {
      fields.puid(legacyPuid);
    }
    if (!source && legacySource != null) {
      fields.source(legacySource);
    }
    return fields.build(id);
  }

  private static void expect(JsonToken got, JsonToken wanted) throws IOException {
    if (got != wanted) {
      throw new IOException("expected " + wanted + ", got " + got);
    }
  }
}
