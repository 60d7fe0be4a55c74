package org.presence.loadtest.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;
import org.presence.protocol.api.NotificationBatchCodec;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * {@code POST /<appid>/notification} for the harness (issue 6), with the setup a Presence node
 * needs first, done by {@link #prepare} before the run starts:
 *
 * <ul>
 *   <li>app number {@code n} becomes a registered, verified, active application: a developer
 *       identity of the harness registers it with the domain {@code 127.0.0.1:<port>} of a small
 *       HTTP server of this process that serves the proof ({@code /__presence}), so the node must
 *       be allowed to reach this machine ({@code outbound.allow-loopback}, on by default in the
 *       embedded default);
 *   <li>every device user {@code u} with {@code u % apps == n} grants it (through {@code POST
 *       /api/grants} with the user's own assertion), and its PUID is kept.
 * </ul>
 *
 * Each injector prepares only the apps it posts as; grants are idempotent on the node, so every
 * process sees the same PUIDs. A post sends one item per recipient, whose message is the stamp;
 * the answer is an ack when every item was stored, else the first item's errno.
 */
public final class PresenceNotifications implements NotificationApi {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Grants in flight at once during the setup. */
  private static final int SETUP_PARALLELISM = 32;

  /** Applications one harness developer registers (a node allows 50 per developer). */
  private static final int APPS_PER_DEVELOPER = 40;

  /** The first virtual user number of the harness's developers, far from any device user. */
  private static final long DEVELOPERS = 1_000_000_000_000L;

  private record App(long id, String key) {}

  private final URI base;
  private final HttpClient http;
  private final Map<Integer, App> apps = new ConcurrentHashMap<>();
  private final Map<Long, String> puids = new ConcurrentHashMap<>();

  /** Posts to the node or cluster at {@code base}. */
  public PresenceNotifications(URI base) {
    this.base = base;
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
  }

  // ---------------------------------------------------------------------------------------------
  // Setup

  /**
   * Registers and activates apps {@code appNumbers} and grants each the device users {@code u <
   * deviceUsers} with {@code u % apps == n}, minting assertions with {@code minter}.
   */
  public void prepare(List<Integer> appNumbers, int appCount, long deviceUsers, TokenMinter minter)
      throws IOException, InterruptedException {
    if (appNumbers.isEmpty()) {
      return;
    }
    HttpServer proof = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    AtomicReference<String> current = new AtomicReference<>("");
    proof.createContext(
        "/__presence",
        ex -> {
          byte[] body = current.get().getBytes(StandardCharsets.UTF_8);
          ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
          ex.sendResponseHeaders(200, body.length);
          try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
          }
        });
    proof.start();
    String domain = "127.0.0.1:" + proof.getAddress().getPort();
    String run = UUID.randomUUID().toString().substring(0, 8);
    // Fresh developers each run: a node allows a developer 50 applications, and runs add up.
    long developers = DEVELOPERS + ThreadLocalRandom.current().nextLong(1_000_000_000L) * 1000;
    try {
      for (int n : appNumbers) {
        String dev = minter.mint(developers + n / APPS_PER_DEVELOPER);
        JsonNode created =
            call("POST", "/api/apps", dev,
                "{\"name\":\"loadtest " + run + " app " + n + "\",\"domain\":\"" + domain
                    + "\",\"description\":\"load harness\"}");
        long id = created.get("id").asLong();
        // Apps are verified one at a time: the proof server serves the current one's key.
        current.set(created.get("verification_key").asText());
        call("POST", "/api/apps/" + id + "/verify", dev, null);
        String key = call("POST", "/api/apps/" + id + "/activate", dev, null).get("api_key").asText();
        apps.put(n, new App(id, key));
      }
    } finally {
      proof.stop(0);
    }
    Semaphore slots = new Semaphore(SETUP_PARALLELISM);
    List<CompletableFuture<Void>> grants = new ArrayList<>();
    for (int n : appNumbers) {
      App app = apps.get(n);
      for (long u = n; u < deviceUsers; u += Math.max(1, appCount)) {
        long user = u;
        slots.acquire();
        HttpRequest req =
            request("POST", "/api/grants", minter.mint(user),
                "{\"app_id\":" + app.id() + ",\"id\":\"" + TokenMinter.email(user) + "\"}");
        grants.add(
            http.sendAsync(req, HttpResponse.BodyHandlers.ofString())
                .handle(
                    (r, e) -> {
                      slots.release();
                      if (e != null) {
                        throw new IllegalStateException("grant of user " + user + " failed: " + e, e);
                      }
                      if (r.statusCode() != 200) {
                        throw new IllegalStateException(
                            "grant of user " + user + " refused: " + r.statusCode() + " " + r.body());
                      }
                      puids.put(user, json(r.body()).get("puid").asText());
                      return null;
                    }));
      }
    }
    try {
      CompletableFuture.allOf(grants.toArray(CompletableFuture[]::new)).join();
    } catch (RuntimeException e) {
      throw new IOException("setup of the notify run failed: " + e.getMessage(), e);
    }
  }

  private HttpRequest request(String method, String path, String bearer, String body) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(Urls.http(base, path))
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + bearer)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    return b.build();
  }

  private JsonNode call(String method, String path, String bearer, String body)
      throws IOException, InterruptedException {
    HttpResponse<String> r =
        http.send(request(method, path, bearer, body), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() / 100 != 2) {
      throw new IOException(method + " " + path + " answered " + r.statusCode() + ": " + r.body());
    }
    return json(r.body());
  }

  private static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new IllegalStateException("not JSON: " + text, e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Posting

  @Override
  public CompletionStage<Reply> post(EventLoop loop, int app, List<Long> users, String message) {
    App a = apps.get(app);
    if (a == null) {
      return CompletableFuture.failedFuture(
          new ClientException("not-prepared", "app " + app + " was not set up"));
    }
    List<NotificationBatchCodec.Item> items = new ArrayList<>(users.size());
    for (long u : users) {
      String puid = puids.get(u);
      if (puid == null) {
        return CompletableFuture.failedFuture(
            new ClientException("not-prepared", "user " + u + " has no PUID for app " + app));
      }
      items.add(new NotificationBatchCodec.Item(puid, message, "https://loadtest.invalid/open", null, false));
    }
    ByteBuf body = Unpooled.buffer(64 + 120 * items.size());
    byte[] bytes;
    try {
      NotificationBatchCodec.encodeBatch(items, body);
      bytes = new byte[body.readableBytes()];
      body.readBytes(bytes);
    } finally {
      body.release();
    }
    HttpRequest req =
        HttpRequest.newBuilder(Urls.http(base, "/" + a.id() + "/notification"))
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + a.key())
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(bytes))
            .build();
    CompletableFuture<Reply> done = new CompletableFuture<>();
    http.sendAsync(req, HttpResponse.BodyHandlers.ofByteArray())
        .whenComplete(
            (r, e) -> {
              Reply reply;
              Throwable failure = null;
              if (e != null) {
                failure = new ClientException(ClientException.kindOf(e), String.valueOf(e.getMessage()));
                reply = null;
              } else {
                reply = reply(r);
              }
              Throwable f = failure;
              loop.execute(
                  () -> {
                    if (f != null) {
                      done.completeExceptionally(f);
                    } else {
                      done.complete(reply);
                    }
                  });
            });
    return done;
  }

  /** The harness's reading of an answer. */
  static Reply reply(HttpResponse<byte[]> r) {
    ByteBuf b = Unpooled.wrappedBuffer(r.body());
    try {
      if (r.statusCode() != 200) {
        JsonNode err = json(new String(r.body(), StandardCharsets.UTF_8));
        return Reply.error(err.path("errno").asInt(ErrorCode.INTERNAL_ERROR.errno()), err.path("reason").asText());
      }
      NotificationBatchCodec.Ack ack = NotificationBatchCodec.decodeAck(b);
      for (NotificationBatchCodec.ItemResult i : ack.results()) {
        if (!i.isStored()) {
          return Reply.error(i.errno(), i.reason());
        }
      }
      return Reply.ack();
    } catch (ProtocolException | IllegalStateException e) {
      return Reply.error(ErrorCode.INTERNAL_ERROR.errno(), "unreadable answer");
    } finally {
      b.release();
    }
  }
}
