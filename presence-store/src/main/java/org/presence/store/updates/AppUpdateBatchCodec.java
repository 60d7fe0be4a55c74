package org.presence.store.updates;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.presence.protocol.json.Json;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.redis.RedisKeys;

/**
 * The one format of an application's numbered presence updates between nodes and in the Redis log:
 * each update is a small JSON document {@code {"u": puid, "s": status, "m": message?, "v":
 * version?}} (the log's stream entries hold these documents), and a batch message on the
 * application's bus channel ({@link #channel}) is a header line {@code "<first seq> <epoch
 * millis>"} followed by one document per line, numbered consecutively from the first seq. JSON
 * documents never hold a raw line break, so the framing needs no escaping. The Redis log's append
 * script writes the same framing (it only joins documents this class encoded).
 */
public final class AppUpdateBatchCodec {
  private AppUpdateBatchCodec() {}

  /**
   * The bus channel of application {@code appId}'s numbered presence updates, whose messages are
   * this codec's batches. It carries the application's hash tag, so on a Redis Cluster it is a
   * shard channel in the application's slot.
   */
  public static String channel(long appId) {
    return "presence.app." + RedisKeys.appTag(appId);
  }

  /** One update's document (no number, no time: the entry or batch carries them). */
  public static byte[] encodeDocument(AppUpdate.New u) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(96);
    try (JsonGenerator g = Json.internal().createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("u", u.puid());
      g.writeStringField("s", u.status().wireName());
      if (!u.message().isEmpty()) {
        g.writeStringField("m", u.message());
      }
      if (u.version() != 0) {
        g.writeNumberField("v", u.version());
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** The update numbered {@code seq} whose document is {@code data[from, to)}. */
  public static AppUpdate decodeDocument(long seq, Instant at, byte[] data, int from, int to)
      throws IOException {
    String puid = null;
    PresenceStatus status = null;
    String message = "";
    long version = 0;
    try (JsonParser p = Json.internal().createParser(data, from, to - from)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IOException("not an object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String f = p.currentName();
        p.nextToken();
        switch (f) {
          case "u" -> puid = p.getText();
          case "s" -> status = PresenceStatus.fromWire(p.getText()).orElse(PresenceStatus.OFFLINE);
          case "m" -> message = p.getText();
          case "v" -> version = p.getLongValue();
          default -> p.skipChildren();
        }
      }
    }
    if (puid == null || status == null) {
      throw new IOException("update " + seq + " without a puid or status");
    }
    return new AppUpdate(seq, puid, status, message, version, at);
  }

  /** A batch message: {@code updates} must be numbered consecutively and share one time. */
  public static byte[] encodeBatch(List<AppUpdate> updates) {
    if (updates.isEmpty()) {
      throw new IllegalArgumentException("empty batch");
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(32 + updates.size() * 96);
    AppUpdate first = updates.get(0);
    out.writeBytes(
        (first.seq() + " " + first.at().toEpochMilli()).getBytes(StandardCharsets.US_ASCII));
    for (AppUpdate u : updates) {
      out.write('\n');
      out.writeBytes(
          encodeDocument(
              new AppUpdate.New(
                  u.puid(), u.status(), u.message(), u.version(), AppUpdate.Kind.CHANGE)));
    }
    return out.toByteArray();
  }

  /**
   * The updates of a batch message, numbered; fails with an {@link IOException} on anything
   * malformed (a bus message comes from another process).
   */
  public static List<AppUpdate> decodeBatch(byte[] message) throws IOException {
    int nl = indexOf(message, 0);
    String header = new String(message, 0, nl, StandardCharsets.US_ASCII);
    String[] parts = header.split(" ", -1);
    long first;
    Instant at;
    try {
      if (parts.length != 2) {
        throw new NumberFormatException(header);
      }
      first = Long.parseLong(parts[0]);
      at = Instant.ofEpochMilli(Long.parseLong(parts[1]));
    } catch (NumberFormatException e) {
      throw new IOException("bad batch header: " + e.getMessage());
    }
    if (first <= 0 || nl >= message.length) {
      throw new IOException("bad batch: no updates");
    }
    List<AppUpdate> out = new ArrayList<>();
    int from = nl + 1;
    while (from <= message.length) {
      int to = indexOf(message, from);
      out.add(decodeDocument(first + out.size(), at, message, from, to));
      from = to + 1;
    }
    return out;
  }

  private static int indexOf(byte[] data, int from) {
    for (int i = from; i < data.length; i++) {
      if (data[i] == '\n') {
        return i;
      }
    }
    return data.length;
  }
}
