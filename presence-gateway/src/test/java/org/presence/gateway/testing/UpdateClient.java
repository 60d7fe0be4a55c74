package org.presence.gateway.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An application on the update channel ({@code /<appid>}) for tests: sends the key frame and reads
 * frames as JSON, telling snapshots, update lists, receipts and errors apart.
 */
public final class UpdateClient implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** How long a test waits for a frame it expects. */
  public static final Duration WAIT = Duration.ofSeconds(15);

  /** One update as the application received it. */
  public record Item(String puid, String status, String message, long seq) {
    static Item of(JsonNode n) {
      return new Item(
          n.path("UID").asText(),
          n.path("status").asText(),
          n.has("message") ? n.get("message").asText() : null,
          n.path("seq").asLong(-1));
    }
  }

  /** A whole snapshot (all its frames). */
  public record Snapshot(Map<String, Item> users, long seq, boolean fresh, int frames) {}

  private final WsClient ws;
  private final List<JsonNode> receipts = new ArrayList<>();

  private UpdateClient(WsClient ws) {
    this.ws = ws;
  }

  /** Opens the update socket of {@code appId} on {@code node}; no key yet. */
  public static UpdateClient open(NodeAddress node, long appId) {
    return new UpdateClient(WsClient.connect(node.wsUri("/" + appId)));
  }

  /** Opens the socket, sends the key (and {@code since} when not negative), expects the result. */
  public static UpdateClient connected(NodeAddress node, long appId, String key, long since) {
    UpdateClient c = open(node, appId);
    c.sendKey(key, since);
    JsonNode r = c.next();
    if (r == null || !r.path("result").asBoolean(false)) {
      c.close();
      throw new AssertionError("key refused: " + r);
    }
    return c;
  }

  /** Sends the key frame. */
  public void sendKey(String key, long since) {
    ObjectNode n = JSON.createObjectNode().put("key", key);
    if (since >= 0) {
      n.put("since", since);
    }
    ws.send(n.toString());
  }

  /** Sends raw text. */
  public void sendText(String text) {
    ws.send(text);
  }

  /** The next frame as JSON, or {@code null} when none came within {@link #WAIT}. */
  public JsonNode next() {
    return next(WAIT);
  }

  /** The next frame as JSON, or {@code null} when none came within {@code timeout}. */
  public JsonNode next(Duration timeout) {
    try {
      String t = ws.next(timeout);
      if (t == null) {
        return null;
      }
      JsonNode frame = JSON.readTree(t);
      // Every frame a test reads is one the AsyncAPI document describes (docs/api.md).
      ApiSchemas.assertUpdateFrame(frame);
      return frame;
    } catch (IOException e) {
      throw new AssertionError(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Reads the snapshot's frames until the last; fails on anything else first. */
  public Snapshot snapshot() {
    Map<String, Item> users = new LinkedHashMap<>();
    int frames = 0;
    while (true) {
      JsonNode f = nextNonReceipt(WAIT);
      if (f == null || !f.has("snapshot")) {
        throw new AssertionError("expected a snapshot frame, got " + f);
      }
      frames++;
      for (JsonNode e : f.get("snapshot")) {
        Item i = Item.of(e);
        if (users.put(i.puid(), i) != null) {
          throw new AssertionError("user twice in one snapshot: " + i.puid());
        }
      }
      if (f.path("done").asBoolean()) {
        return new Snapshot(users, f.path("seq").asLong(), f.path("fresh").asBoolean(), frames);
      }
    }
  }

  /** Update items until {@code n} have arrived (failing on other frames but receipts). */
  public List<Item> updates(int n) {
    List<Item> out = new ArrayList<>();
    while (out.size() < n) {
      JsonNode f = nextNonReceipt(WAIT);
      if (f == null) {
        throw new AssertionError("only " + out.size() + " of " + n + " updates: " + out);
      }
      if (!f.isArray()) {
        throw new AssertionError("expected an update list, got " + f);
      }
      f.forEach(e -> out.add(Item.of(e)));
    }
    return out;
  }

  /** Update items arriving within {@code quiet} of each other, until none does. */
  public List<Item> drain(Duration quiet) {
    List<Item> out = new ArrayList<>();
    JsonNode f;
    while ((f = nextNonReceipt(quiet)) != null) {
      if (!f.isArray()) {
        throw new AssertionError("expected an update list, got " + f);
      }
      f.forEach(e -> out.add(Item.of(e)));
    }
    return out;
  }

  private JsonNode nextNonReceipt(Duration timeout) {
    while (true) {
      JsonNode f = next(timeout);
      if (f != null && f.has("receipts")) {
        f.get("receipts").forEach(receipts::add);
        continue;
      }
      return f;
    }
  }

  /** Receipts seen so far while reading other frames, plus any that arrive within {@code wait}. */
  public List<JsonNode> receipts(int atLeast) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (receipts.size() < atLeast && System.nanoTime() < deadline) {
      JsonNode f = next(Duration.ofMillis(200));
      if (f != null && f.has("receipts")) {
        f.get("receipts").forEach(receipts::add);
      } else if (f != null) {
        throw new AssertionError("expected receipts, got " + f);
      }
    }
    return List.copyOf(receipts);
  }

  /** How the server closed the socket. */
  public WsClient.Close awaitClose() {
    try {
      return ws.closed().get(WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new AssertionError("not closed", e);
    }
  }

  @Override
  public void close() {
    ws.close();
  }
}
