package org.presence.gateway.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.identity.DevIdentity;
import org.presence.gateway.notify.Receipts;
import org.presence.protocol.api.NotificationBatchCodec;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.bus.PresenceBus;

/**
 * Live-notification tests' helpers: an active application made through the real JSON API (domain
 * proof against a {@link DomainStub}), a user's grant and its PUID, posting batches, reading acks
 * and error bodies, and recording the receipts published on the bus.
 */
public final class NotifyFixture {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** An active application and its API key. */
  public record App(long id, String key, String name) {}

  private NotifyFixture() {}

  /** Registers, verifies and activates application {@code name} of {@code devEmail}. */
  public static App activeApp(NodeAddress node, DomainStub site, String devEmail, String name) {
    return activeApp(ApiClient.forEmail(node, devEmail), site, name);
  }

  /**
   * Registers, verifies and activates application {@code name} of developer {@code dev}. The stub
   * serves one verification key at a time: key and proof go under its lock.
   */
  public static App activeApp(ApiClient dev, DomainStub site, String name) {
    HttpResponse<String> created =
        dev.post(
            "/api/apps",
            "{\"name\":\""
                + name
                + "\",\"domain\":\""
                + site.domain()
                + "\",\"description\":\"a test application\"}");
    check(created, 201);
    long id = json(created).get("id").asLong();
    synchronized (site) {
      site.serveKey(json(created).get("verification_key").asText());
      check(dev.post("/api/apps/" + id + "/verify", null), 200);
    }
    HttpResponse<String> activated = dev.post("/api/apps/" + id + "/activate", null);
    check(activated, 200);
    return new App(id, json(activated).get("api_key").asText(), name);
  }

  /** The PUID {@code email} grants {@code appId} (through the JSON API). */
  public static String grant(NodeAddress node, String email, long appId) {
    HttpResponse<String> r =
        ApiClient.forEmail(node, email)
            .post("/api/grants", "{\"app_id\":" + appId + ",\"id\":\"" + email + "\"}");
    check(r, 200);
    return json(r).get("puid").asText();
  }

  /** The identity ({@code sub}) of a development user. */
  public static String sub(String email) {
    return DevIdentity.subjectFor(email);
  }

  /** POSTs {@code body} as JSON to {@code appId}'s notification endpoint with {@code key}. */
  public static HttpResponse<String> post(NodeAddress node, long appId, String key, String body) {
    return post(node, "/" + appId + "/notification", key, "application/json", body);
  }

  /** POSTs {@code body} to {@code path} with an optional key and content type. */
  public static HttpResponse<String> post(
      NodeAddress node, String path, String key, String contentType, String body) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(node.uri(path)).POST(HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      b.header("Authorization", "Bearer " + key);
    }
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    return TestNode.send(b.build());
  }

  /** GETs {@code puid}'s presence from {@code app}'s query endpoint with its key (10 s at most). */
  public static HttpResponse<String> presence(NodeAddress node, App app, String puid) {
    return TestNode.send(
        HttpRequest.newBuilder(node.uri("/" + app.id() + "/presence/" + puid))
            .header("Authorization", "Bearer " + app.key())
            .timeout(java.time.Duration.ofSeconds(10))
            .GET()
            .build());
  }

  /** One item of a batch, as JSON. */
  public static String item(String puid, String message) {
    return "{\"UID\":\""
        + puid
        + "\",\"message\":\""
        + message
        + "\",\"action\":\"https://example.com/open\"}";
  }

  /** A batch of items, as JSON. */
  public static String batch(String... items) {
    return "[" + String.join(",", items) + "]";
  }

  /** The acknowledgement in a 200 answer; fails the test for any other. */
  public static NotificationBatchCodec.Ack ack(HttpResponse<String> r) {
    check(r, 200);
    ByteBuf b = Unpooled.copiedBuffer(r.body(), StandardCharsets.UTF_8);
    try {
      return NotificationBatchCodec.decodeAck(b);
    } finally {
      b.release();
    }
  }

  /** The body as a JSON tree. */
  public static JsonNode json(HttpResponse<String> r) {
    return json(r.body());
  }

  /** {@code text} as a JSON tree. */
  public static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (Exception e) {
      throw new AssertionError("not JSON: " + text, e);
    }
  }

  private static void check(HttpResponse<String> r, int status) {
    if (r.statusCode() != status) {
      throw new AssertionError("expected " + status + ", got " + r.statusCode() + ": " + r.body());
    }
  }

  /**
   * A node on a Redis of the test's own, with an active application of dev@example.com, the grant
   * of alice@example.com to it and her phone connected and ONLINE: the set-up of the tests of what
   * clients are told when that Redis fails. Closing it closes the phone and the node.
   */
  public record RedisNodeUser(TestNode node, App app, String puid, DeviceTestClient phone)
      implements AutoCloseable {
    /**
     * Starts the node under {@code dir} on {@code redisUrl} ({@code store.redis.url}), with {@code
     * extra} settings on top of the fixture's, and makes application {@code appName} (domain proof
     * against {@code site}), the grant and the phone.
     */
    public static RedisNodeUser start(
        Path dir, String redisUrl, DomainStub site, String appName, Map<String, String> extra) {
      Map<String, String> s = TestNode.baseSettings(dir);
      s.put("xmpp.port", "off");
      s.put("identity.dev-signing", "true");
      s.put("outbound.allow-loopback", "true");
      s.put("device.handshake-rate", "0");
      s.put("store.redis.url", redisUrl);
      s.putAll(extra);
      TestNode node = TestNode.start(s, r -> {});
      DeviceTestClient phone = null;
      try {
        App app = activeApp(node, site, "dev@example.com", appName);
        String puid = grant(node, "alice@example.com", app.id());
        phone = DeviceTestClient.connected(node, node.token("alice@example.com"), null, "phone");
        DeviceMessage online = phone.status(PresenceStatus.ONLINE, null);
        if (!(online instanceof DeviceMessage.Ack)) {
          throw new AssertionError("ONLINE not acknowledged: " + online);
        }
        return new RedisNodeUser(node, app, puid, phone);
      } catch (RuntimeException | Error e) {
        if (phone != null) {
          phone.close();
        }
        node.close();
        throw e;
      }
    }

    @Override
    public void close() {
      try {
        phone.close();
      } finally {
        node.close();
      }
    }
  }

  /** Records the receipts of some applications published on a bus. */
  public static final class ReceiptRecorder implements AutoCloseable {
    private final List<JsonNode> receipts = new CopyOnWriteArrayList<>();
    private final List<PresenceBus.Subscription> subscriptions = new CopyOnWriteArrayList<>();

    /** Subscribes to the receipts of {@code appIds} on {@code bus}. */
    public static ReceiptRecorder listen(PresenceBus bus, long... appIds) {
      ReceiptRecorder r = new ReceiptRecorder();
      for (long app : appIds) {
        try {
          r.subscriptions.add(
              bus.subscribe(
                      Receipts.channel(app),
                      (c, m) -> {
                        try {
                          r.receipts.add(JSON.readTree(m));
                        } catch (Exception e) {
                          throw new AssertionError(e);
                        }
                      })
                  .toCompletableFuture()
                  .get(10, TimeUnit.SECONDS));
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      }
      return r;
    }

    /** Receipts so far, as {@code id:state}. */
    public List<String> seen() {
      return receipts.stream()
          .map(j -> j.get("id").asText() + ":" + j.get("state").asText())
          .toList();
    }

    /** Receipts so far. */
    public List<JsonNode> all() {
      return List.copyOf(receipts);
    }

    @Override
    public void close() {
      subscriptions.forEach(PresenceBus.Subscription::unsubscribe);
    }
  }
}
