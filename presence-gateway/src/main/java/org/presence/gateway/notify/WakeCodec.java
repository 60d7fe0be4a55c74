package org.presence.gateway.notify;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
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
 * {"d": [{"u": "&lt;user&gt;", "h": true, "s": ["&lt;session&gt;", ...],
 *         "n": [{"i": id, "a": app, "u": puid, "s": source, "m": message, "x": action,
 *                "c": created ms, "e": expires ms, "r": receipts, "p": puid, "o": source}, ...]},
 *        ...]}
 * </pre>
 *
 * <p>Each item is the notification format of the queue ({@link NotificationCodec#writeFields}) with
 * its id as {@code "i"}. {@code "h": true} (left out when false) asks the node to read the user's
 * queue from its head and push that instead of the items alone: the sending node lost an earlier
 * wake-up of that user, whose items, older, still wait (docs/notifications.md); a node that does
 * not know the key pushes the items. Nodes before that shared format named the PUID {@code "p"} and
 * the source {@code "o"}: for rolling upgrades (docs/cluster.md) items still carry those two keys,
 * and a wake-up from an older node, without {@code "u"} and {@code "s"}, is still read.
 */
final class WakeCodec {
  /**
   * Items for the sessions of one user on one node; with {@code head}, the user's whole queue is
   * read and pushed instead, from its oldest item.
   */
  record Delivery(String user, List<UUID> sessions, List<Notification> items, boolean head) {
    Delivery(String user, List<UUID> sessions, List<Notification> items) {
      this(user, sessions, items, false);
    }
  }

  private WakeCodec() {}

  static byte[] encode(List<Delivery> deliveries) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(512);
    try (JsonGenerator g = Json.internal().createGenerator(out)) {
      g.writeStartObject();
      g.writeArrayFieldStart("d");
      for (Delivery d : deliveries) {
        g.writeStartObject();
        g.writeStringField("u", d.user());
        if (d.head()) {
          g.writeBooleanField("h", true);
        }
        g.writeArrayFieldStart("s");
        for (UUID s : d.sessions()) {
          g.writeString(s.toString());
        }
        g.writeEndArray();
        writeItems(g, d.items());
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static void writeItems(JsonGenerator g, List<Notification> items) throws IOException {
    g.writeArrayFieldStart("n");
    for (Notification n : items) {
      g.writeStartObject();
      g.writeStringField("i", n.id());
      NotificationCodec.writeFields(g, n);
      g.writeStringField("p", n.puid());
      g.writeStringField("o", n.source());
      g.writeEndObject();
    }
    g.writeEndArray();
  }

  /** What a wake-up holds before its deliveries, as {@link #encode} writes it. */
  static final byte[] OPEN = "{\"d\":[".getBytes(StandardCharsets.UTF_8);

  /** What a wake-up holds after its deliveries. */
  static final byte[] CLOSE = "]}".getBytes(StandardCharsets.UTF_8);

  /**
   * A delivery of {@code items} to {@code user} cut where its sessions go, for a store that puts
   * the wake-up together itself ({@code RedisNotificationQueues.WakeFormat}): {@link #OPEN}, then
   * for each user the first part, the sessions as JSON strings separated by {@code ,}, the second
   * part, the users separated by {@code ,}, then {@link #CLOSE} is what {@link #encode} writes for
   * those deliveries.
   */
  static byte[][] parts(String user, List<Notification> items) {
    return parts(user, items, false);
  }

  /**
   * {@link #parts(String, List)} of a delivery that reads the queue from its head when {@code
   * fromHead}.
   */
  static byte[][] parts(String user, List<Notification> items, boolean fromHead) {
    ByteArrayOutputStream head = new ByteArrayOutputStream(64);
    ByteArrayOutputStream tail = new ByteArrayOutputStream(256 * items.size());
    try {
      try (JsonGenerator g = Json.internal().createGenerator(head)) {
        g.writeStartObject();
        g.writeStringField("u", user);
        if (fromHead) {
          g.writeBooleanField("h", true);
        }
        g.writeEndObject();
      }
      try (JsonGenerator g = Json.internal().createGenerator(tail)) {
        g.writeStartObject();
        writeItems(g, items);
        g.writeEndObject();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // {"u":"<user>"} without its "}", then ,"s":[ ; {"n":[...]} without its "{", after ],
    byte[] h = head.toByteArray();
    byte[] t = tail.toByteArray();
    ByteArrayOutputStream first = new ByteArrayOutputStream(h.length + 6);
    first.write(h, 0, h.length - 1);
    first.writeBytes(",\"s\":[".getBytes(StandardCharsets.UTF_8));
    ByteArrayOutputStream second = new ByteArrayOutputStream(t.length + 2);
    second.writeBytes("],".getBytes(StandardCharsets.UTF_8));
    second.write(t, 1, t.length - 1);
    return new byte[][] {first.toByteArray(), second.toByteArray()};
  }

  /**
   * Reads a wake-up.
   *
   * @throws IOException when it is not one
   */
  static List<Delivery> decode(byte[] message) throws IOException {
    try (JsonParser p = Json.internal().createParser(message)) {
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
    boolean head = false;
    List<UUID> sessions = new ArrayList<>();
    List<Notification> items = new ArrayList<>();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String f = p.currentName();
      JsonToken v = p.nextToken();
      switch (f) {
        case "u" -> user = p.getText();
        case "h" -> head = v == JsonToken.VALUE_TRUE;
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
    return new Delivery(user, sessions, items, head);
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
