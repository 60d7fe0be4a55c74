package org.presence.protocol.app;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Set;
import org.presence.protocol.app.AppFrames.KeyFrame;
import org.presence.protocol.app.AppFrames.Receipt;
import org.presence.protocol.app.AppFrames.SnapshotEntry;
import org.presence.protocol.app.AppFrames.Update;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.json.Json;

/**
 * The app update channel's frames ({@code docs/app-updates.md}), read from and written to {@link
 * ByteBuf}s with Jackson's streaming API. The same frames travel on the WebSocket at {@code
 * /<appid>} and, one per line, on the stream at {@code /<appid>/presence.json}:
 *
 * <ul>
 *   <li>from the application, once: {@code {"key": "<API key>", "since": 17}} ({@code since}
 *       optional);
 *   <li>{@code {"result": true}}: the key was accepted (WebSocket only);
 *   <li>{@code {"snapshot": [{"UID": ..., "status": ..., "message": ...}], "seq": 17, "fresh":
 *       false, "done": true}}: who is not offline, as of update {@code seq}; several frames when
 *       large, the last with {@code "done": true};
 *   <li>{@code [{"UID": ..., "status": ..., "message": ..., "seq": 18}, ...]}: updates, in order;
 *   <li>{@code {"receipts": [{"id": ..., "UID": ..., "state": ..., "at": ...}]}}: notification
 *       receipts.
 * </ul>
 *
 * Pure functions: no I/O, no logging. Decoding failures are {@link ProtocolException}s.
 */
public final class AppCodec {
  /** Largest {@code since} accepted: numbers stay exact in JavaScript. */
  public static final long MAX_SINCE = (1L << 53) - 1;

  /** Longest key accepted in a key frame (keys are 1,024 characters). */
  public static final int MAX_KEY_LENGTH = 4096;

  /** The receipt states the notification feature publishes. */
  public static final Set<String> RECEIPT_STATES =
      Set.of("delivered", "acted", "dismissed", "missed");

  private static final JsonFactory RECEIPTS = Json.build(4096);

  private AppCodec() {}

  /**
   * The key frame in {@code frame}. Unknown fields are skipped.
   *
   * @throws ProtocolException {@code MALFORMED_JSON}, {@code MISSING_FIELD} (no key), {@code
   *     WRONG_FIELD_TYPE} (a key that is not a string) or {@code INVALID_SINCE} (a since that is
   *     not a whole number from 0 to 2^53-1)
   */
  public static KeyFrame decodeKey(ByteBuf frame) {
    try (JsonParser p = Json.parser(Json.frames(), frame)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new ProtocolException(ErrorCode.MALFORMED_JSON, "expected a JSON object");
      }
      String key = null;
      long since = -1;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        switch (name) {
          case "key" -> {
            if (v != JsonToken.VALUE_STRING) {
              throw new ProtocolException(ErrorCode.WRONG_FIELD_TYPE, "key must be a string");
            }
            key = p.getText();
          }
          case "since" -> {
            if (v == JsonToken.VALUE_NULL) {
              since = -1;
            } else if (v != JsonToken.VALUE_NUMBER_INT
                || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER
                || p.getLongValue() < 0
                || p.getLongValue() > MAX_SINCE) {
              p.skipChildren();
              throw new ProtocolException(
                  ErrorCode.INVALID_SINCE, "since must be a whole number from 0 to 2^53-1");
            } else {
              since = p.getLongValue();
            }
          }
          default -> p.skipChildren();
        }
      }
      if (p.nextToken() != null) {
        throw new ProtocolException(ErrorCode.MALFORMED_JSON, "trailing data");
      }
      if (key == null) {
        throw new ProtocolException(ErrorCode.MISSING_FIELD, "key");
      }
      if (key.length() > MAX_KEY_LENGTH) {
        throw new ProtocolException(ErrorCode.INVALID_API_KEY, null);
      }
      return new KeyFrame(key, since);
    } catch (ProtocolException e) {
      throw e;
    } catch (IOException e) {
      throw Json.refusal(e);
    } catch (RuntimeException e) {
      throw new ProtocolException(ErrorCode.MALFORMED_JSON, null, e);
    }
  }

  /**
   * The {@code since} of a stream's query parameter.
   *
   * @throws ProtocolException {@code INVALID_SINCE} unless a whole number from 0 to 2^53-1
   */
  public static long parseSince(String text) {
    if (text == null
        || text.isEmpty()
        || text.length() > 16
        || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new ProtocolException(
          ErrorCode.INVALID_SINCE, "since must be a whole number from 0 to 2^53-1");
    }
    long v = Long.parseLong(text);
    if (v > MAX_SINCE) {
      throw new ProtocolException(
          ErrorCode.INVALID_SINCE, "since must be a whole number from 0 to 2^53-1");
    }
    return v;
  }

  /** Appends {@code {"result": true}}. */
  public static void writeResult(ByteBuf out) {
    write(
        out,
        g -> {
          g.writeStartObject();
          g.writeBooleanField("result", true);
          g.writeEndObject();
        });
  }

  /** Appends an update list. */
  public static void writeUpdates(List<Update> updates, ByteBuf out) {
    write(
        out,
        g -> {
          // The field names below are fixed, so no object can repeat one: the generator's check
          // would only cost a set per update written.
          g.disable(JsonGenerator.Feature.STRICT_DUPLICATE_DETECTION);
          g.writeStartArray();
          for (Update u : updates) {
            g.writeStartObject();
            g.writeStringField("UID", u.puid());
            g.writeStringField("status", u.status().wireName());
            if (!u.message().isEmpty()) {
              g.writeStringField("message", u.message());
            }
            g.writeNumberField("seq", u.seq());
            g.writeEndObject();
          }
          g.writeEndArray();
        });
  }

  /**
   * Appends one snapshot frame.
   *
   * @param entries users in this part
   * @param seq the update number the snapshot stands at: updates after it follow
   * @param fresh whether it replaces state the application had (its since was too old)
   * @param done whether this is the snapshot's last frame
   */
  public static void writeSnapshot(
      List<SnapshotEntry> entries, long seq, boolean fresh, boolean done, ByteBuf out) {
    write(
        out,
        g -> {
          g.writeStartObject();
          g.writeArrayFieldStart("snapshot");
          for (SnapshotEntry e : entries) {
            g.writeStartObject();
            g.writeStringField("UID", e.puid());
            g.writeStringField("status", e.status().wireName());
            if (!e.message().isEmpty()) {
              g.writeStringField("message", e.message());
            }
            g.writeEndObject();
          }
          g.writeEndArray();
          g.writeNumberField("seq", seq);
          g.writeBooleanField("fresh", fresh);
          g.writeBooleanField("done", done);
          g.writeEndObject();
        });
  }

  /** Appends a receipts frame. */
  public static void writeReceipts(List<Receipt> receipts, ByteBuf out) {
    write(
        out,
        g -> {
          g.writeStartObject();
          g.writeArrayFieldStart("receipts");
          for (Receipt r : receipts) {
            g.writeStartObject();
            g.writeStringField("id", r.id());
            g.writeStringField("UID", r.puid());
            g.writeStringField("state", r.state());
            g.writeNumberField("at", r.at());
            g.writeEndObject();
          }
          g.writeEndArray();
          g.writeEndObject();
        });
  }

  /**
   * Encodes a receipt for the bus channel {@code receipts:<appId>}, as {@link #decodeReceipt} reads
   * it: {@code {"id":"...","UID":"...","state":"...","at":...}}.
   */
  public static byte[] encodeReceipt(Receipt r) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(128);
    try (JsonGenerator g = RECEIPTS.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("id", r.id());
      g.writeStringField("UID", r.puid());
      g.writeStringField("state", r.state());
      g.writeNumberField("at", r.at());
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /**
   * A receipt as the notification feature publishes it on the bus channel {@code receipts:<appId>}:
   * {@code {"id": "...", "UID": "...", "state": "delivered", "at": 1700000000000}}. Other fields
   * are ignored.
   *
   * @throws ProtocolException when the message is not such an object (ids and PUIDs at most 256
   *     characters, a known state)
   */
  public static Receipt decodeReceipt(byte[] message) {
    try (JsonParser p = RECEIPTS.createParser(message)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new ProtocolException(ErrorCode.MALFORMED_JSON, "expected a JSON object");
      }
      String id = null;
      String puid = null;
      String state = null;
      long at = -1;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        switch (name) {
          case "id" -> id = v == JsonToken.VALUE_STRING ? p.getText() : null;
          case "UID" -> puid = v == JsonToken.VALUE_STRING ? p.getText() : null;
          case "state" -> state = v == JsonToken.VALUE_STRING ? p.getText() : null;
          case "at" -> at = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1;
          default -> p.skipChildren();
        }
      }
      if (id == null
          || id.isEmpty()
          || id.length() > 256
          || puid == null
          || puid.isEmpty()
          || puid.length() > 256
          || state == null
          || !RECEIPT_STATES.contains(state)
          || at < 0) {
        throw new ProtocolException(ErrorCode.MISSING_FIELD, "not a complete receipt");
      }
      return new Receipt(id, puid, state, at);
    } catch (ProtocolException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw new ProtocolException(ErrorCode.MALFORMED_JSON, null, e);
    }
  }

  @FunctionalInterface
  private interface Body {
    void write(JsonGenerator g) throws IOException;
  }

  private static void write(ByteBuf out, Body body) {
    try (JsonGenerator g = Json.generator(out)) {
      body.write(g);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
