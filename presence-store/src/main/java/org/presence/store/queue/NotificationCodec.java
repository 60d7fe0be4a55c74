package org.presence.store.queue;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.presence.protocol.json.Json;

/**
 * The one notification format: how a queued {@link Notification} is stored in Redis (its id, a
 * space, then a JSON object of the other fields; the id prefix lets the Lua scripts find an item by
 * id without parsing JSON), and the fields the gateway's wake-ups carry for each item ({@link
 * #writeFields}, {@link Fields}): {@code "a"} app id, {@code "u"} PUID, {@code "s"} source, {@code
 * "m"} message, {@code "x"} action, {@code "c"} created and {@code "e"} expiry (epoch ms), {@code
 * "r"} receipts wanted.
 *
 * <p>Text is stored as raw UTF-8: a character outside the Basic Multilingual Plane (an emoji) is
 * its 4 UTF-8 bytes, not the two {@code \\uXXXX} escapes of its UTF-16 surrogates Jackson writes by
 * default (12 bytes), which made a message of 512 emoji 6.8 KB in Redis instead of 2.6 KB (probe
 * s33 F3). Items stored before in the escaped form are still read: the escapes are JSON, which
 * {@link #decode} parses as before.
 */
public final class NotificationCodec {
  /**
   * The internal factory ({@link Json#internal()}), writing a surrogate pair as one 4-byte UTF-8
   * character.
   */
  private static final JsonFactory STORED =
      Json.internal().rebuild().enable(JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8).build();

  private NotificationCodec() {}

  static byte[] encode(Notification n) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    out.writeBytes((n.id() + " ").getBytes(StandardCharsets.US_ASCII));
    try (JsonGenerator g = STORED.createGenerator(out)) {
      g.writeStartObject();
      writeFields(g, n);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** Writes {@code n}'s fields but its id into the object {@code g} is writing. */
  public static void writeFields(JsonGenerator g, Notification n) throws IOException {
    g.writeNumberField("a", n.appId());
    g.writeStringField("u", n.puid());
    g.writeStringField("s", n.source());
    g.writeStringField("m", n.message());
    g.writeStringField("x", n.action());
    g.writeNumberField("c", n.createdAt().toEpochMilli());
    g.writeNumberField("e", n.expiresAt().toEpochMilli());
    g.writeBooleanField("r", n.receipts());
  }

  static Notification decode(byte[] stored) {
    int space = 0;
    while (space < stored.length && stored[space] != ' ') {
      space++;
    }
    String id = new String(stored, 0, space, StandardCharsets.US_ASCII);
    Fields f = new Fields();
    try (JsonParser p =
        Json.internal().createParser(stored, space + 1, stored.length - space - 1)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IOException("not an object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        p.nextToken();
        if (!f.read(name, p)) {
          p.skipChildren();
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("corrupt queued notification " + id, e);
    }
    return f.build(id);
  }

  /** Collects the fields {@link #writeFields} wrote, as a reader meets them. */
  public static final class Fields {
    private long appId;
    private String puid = "";
    private String source = "";
    private String message = "";
    private String action = "";
    private long created;
    private long expires;
    private boolean receipts;

    /**
     * Reads the value {@code p} is on if {@code name} is a notification field.
     *
     * @return false when it is not one (the caller reads or skips the value)
     */
    public boolean read(String name, JsonParser p) throws IOException {
      switch (name) {
        case "a" -> appId = p.getLongValue();
        case "u" -> puid = p.getText();
        case "s" -> source = p.getText();
        case "m" -> message = p.getText();
        case "x" -> action = p.getText();
        case "c" -> created = p.getLongValue();
        case "e" -> expires = p.getLongValue();
        case "r" -> receipts = p.getBooleanValue();
        default -> {
          return false;
        }
      }
      return true;
    }

    /** Sets the PUID (a reader of an older format that named it differently). */
    public void puid(String value) {
      puid = value;
    }

    /** Sets the source (a reader of an older format that named it differently). */
    public void source(String value) {
      source = value;
    }

    /** The notification {@code id} with the fields read (defaults for those missing). */
    public Notification build(String id) {
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
}
