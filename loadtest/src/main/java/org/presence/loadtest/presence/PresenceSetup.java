package org.presence.loadtest.presence;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.RetryPolicy;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
import org.presence.loadtest.identity.TokenMinter;
import org.presence.loadtest.targets.ClientException;
import org.presence.loadtest.transport.Urls;

/**
 * Readies a Presence node for a run that has apps: the coordinator registers {@code apps}
 * applications through the JSON API as fresh developers (at most {@value #APPS_PER_DEVELOPER} each,
 * below a node's per-developer limit), proving the domain against a small site it serves on
 * loopback (so the node must allow loopback: the embedded default does), activates them, and has
 * device user {@code u} grant app {@code u % apps}. The ids, keys and every device user's PUID go
 * to {@value #FILE} in the run folder, where every injector process reads them: the update channel
 * client needs the keys, the notification poster the keys and PUIDs.
 */
public final class PresenceSetup {
  /** The file in the run folder. */
  public static final String FILE = "presence-setup.json";

  /** Grant requests in flight at once. */
  private static final int PARALLEL = 32;

  private static final ObjectMapper MAPPER = new ObjectMapper();

  /**
   * Applications one harness developer registers and verifies: within the node's burst of domain
   * proofs per developer ({@code apps.verify-burst}, 5), so the setup is never rate limited.
   */
  private static final int APPS_PER_DEVELOPER = 5;

  /**
   * How often a registration or a grant is sent when its answer does not come (a timeout, a
   * connection closed before the answer; not a refused connection: nothing is there) or comes as
   * {@code 503}. Both are safe to send again: a registration carries an {@code Idempotency-Key}, so
   * the node answers a repeat with the application the first one made, and a grant of the same
   * user, application and user string is the same grant. The domain proof and the activation are
   * sent once (activating twice would make a second key).
   */
  static final int TRIES = 3;

  private static final RetryPolicy<HttpResponse<String>> SENT_AGAIN =
      RetryPolicy.<HttpResponse<String>>builder()
          .handleIf(
              e -> e instanceof IOException && !ClientException.kindOf(e).equals("connect-refused"))
          .handleResultIf(r -> r.statusCode() == 503)
          .withBackoff(Duration.ofMillis(250), Duration.ofSeconds(2))
          .withMaxAttempts(TRIES)
          .build();

  /** One application: its id and API key. */
  public record AppKey(long id, String key) {}

  /**
   * What the coordinator set up: the applications, by app number, and the PUID of device user
   * {@code u} at app {@code u % apps.size()}, by user number.
   */
  public record Setup(List<AppKey> apps, List<String> puids) {
    /** The PUID of device user {@code user}, or null when the setup did not grant it. */
    public String puid(long user) {
      return user >= 0 && user < puids.size() ? puids.get((int) user) : null;
    }
  }

  private PresenceSetup() {}

  /** Sets the node up and writes {@value #FILE}; returns the applications. */
  public static Setup prepare(
      URI base, TokenMinter minter, int apps, long deviceUsers, Path runDir, PrintWriter out)
      throws IOException, InterruptedException {
    if (deviceUsers > Integer.MAX_VALUE) {
      throw new IOException("presence setup: at most " + Integer.MAX_VALUE + " device users");
    }
    HttpClient http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    // Fresh developers each run: a node allows a developer 50 applications, and runs add up.
    String run = UUID.randomUUID().toString().substring(0, 8);
    AtomicReference<String> served = new AtomicReference<>("");
    HttpServer site = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    site.createContext(
        "/__presence",
        ex -> {
          byte[] body = served.get().getBytes(StandardCharsets.UTF_8);
          ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
          ex.sendResponseHeaders(200, body.length);
          try (OutputStream o = ex.getResponseBody()) {
            o.write(body);
          }
        });
    // A thread per exchange: the node tries https:// first, and a TLS hello sent to this plain
    // HTTP site is read as a request that never ends, which would hold the only default thread
    // and starve the http:// proof behind it.
    ExecutorService siteThreads = Executors.newCachedThreadPool();
    site.setExecutor(siteThreads);
    site.start();
    List<AppKey> keys = new ArrayList<>();
    try {
      String domain = "127.0.0.1:" + site.getAddress().getPort();
      for (int i = 0; i < apps; i++) {
        String dev =
            "Bearer "
                + minter.mintFor(
                    "loadtest-dev-" + run + "-" + i / APPS_PER_DEVELOPER + "@loadtest.invalid");
        ObjectNode app =
            MAPPER
                .createObjectNode()
                .put("name", "loadtest app " + i)
                .put("domain", domain)
                .put("description", "load run");
        JsonNode created =
            call(
                http,
                base,
                "POST",
                "/api/apps",
                dev,
                app.toString(),
                "setup-" + run + "-" + i,
                201);
        long id = created.get("id").asLong();
        served.set(created.get("verification_key").asText());
        call(http, base, "POST", "/api/apps/" + id + "/verify", dev, null, null, 200);
        JsonNode active =
            call(http, base, "POST", "/api/apps/" + id + "/activate", dev, null, null, 200);
        keys.add(new AppKey(id, active.get("api_key").asText()));
      }
    } finally {
      site.stop(0);
      siteThreads.shutdownNow();
    }
    out.printf(
        java.util.Locale.ROOT,
        "presence: %d apps registered; granting them to %d users...%n",
        apps,
        deviceUsers);
    out.flush();
    Semaphore slots = new Semaphore(PARALLEL);
    String[] puids = new String[(int) deviceUsers];
    List<CompletableFuture<Void>> grants = new ArrayList<>();
    for (long u = 0; u < deviceUsers; u++) {
      slots.acquire();
      AppKey app = keys.get((int) (u % apps));
      String body =
          MAPPER
              .createObjectNode()
              .put("app_id", app.id())
              .put("id", TokenMinter.email(u))
              .toString();
      HttpRequest req =
          HttpRequest.newBuilder(Urls.http(base, "/api/grants"))
              .header("Authorization", "Bearer " + minter.mint(u))
              .header("Content-Type", "application/json")
              .timeout(Duration.ofSeconds(30))
              .POST(HttpRequest.BodyPublishers.ofString(body))
              .build();
      long user = u;
      grants.add(
          Failsafe.with(SENT_AGAIN)
              .getStageAsync(() -> http.sendAsync(req, HttpResponse.BodyHandlers.ofString()))
              .thenAccept(
                  r -> {
                    if (r.statusCode() != 200) {
                      throw new IllegalStateException(
                          "grant of user " + user + ": " + r.statusCode() + " " + r.body());
                    }
                    try {
                      puids[(int) user] = MAPPER.readTree(r.body()).get("puid").asText();
                    } catch (IOException | RuntimeException e) {
                      throw new IllegalStateException(
                          "grant of user " + user + ": unreadable answer " + r.body(), e);
                    }
                  })
              .whenComplete((v, e) -> slots.release()));
    }
    try {
      CompletableFuture.allOf(grants.toArray(new CompletableFuture[0])).join();
    } catch (RuntimeException e) {
      Throwable why = e.getCause() == null ? e : e.getCause();
      throw new IOException(
          "presence setup failed: "
              + (why instanceof IllegalStateException
                  ? why.getMessage()
                  : "POST " + Urls.http(base, "/api/grants") + " failed: " + failure(why)),
          e);
    }
    Setup setup = new Setup(List.copyOf(keys), List.of(puids));
    write(runDir, setup);
    return setup;
  }

  /**
   * Makes one call of the set-up and reads its JSON answer, which must have status {@code expect};
   * with an {@code idempotencyKey} (a registration) the call is sent again as {@link #TRIES} says.
   */
  private static JsonNode call(
      HttpClient http,
      URI base,
      String method,
      String path,
      String auth,
      String json,
      String idempotencyKey,
      int expect)
      throws IOException, InterruptedException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(Urls.http(base, path))
            .header("Authorization", auth)
            .timeout(Duration.ofSeconds(30));
    if (idempotencyKey != null) {
      b.header("Idempotency-Key", idempotencyKey);
    }
    if (json != null) {
      b.header("Content-Type", "application/json")
          .method(method, HttpRequest.BodyPublishers.ofString(json));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    HttpRequest request = b.build();
    HttpResponse<String> r;
    try {
      r =
          idempotencyKey == null
              ? http.send(request, HttpResponse.BodyHandlers.ofString())
              : sentAgain(http, request);
    } catch (IOException e) {
      // The JDK's ConnectException says nothing ("null"): name the call and the failure.
      throw new IOException(
          "presence setup: " + method + " " + Urls.http(base, path) + " failed: " + failure(e), e);
    }
    if (r.statusCode() != expect) {
      throw new IOException(
          "presence setup: "
              + method
              + " "
              + path
              + " answered "
              + r.statusCode()
              + " "
              + r.body()
              + (path.endsWith("/verify")
                  ? " (the node must allow loopback: outbound.allow-loopback)"
                  : ""));
    }
    return MAPPER.readTree(r.body());
  }

  private static HttpResponse<String> sentAgain(HttpClient http, HttpRequest request)
      throws IOException, InterruptedException {
    try {
      return Failsafe.with(SENT_AGAIN)
          .get(() -> http.send(request, HttpResponse.BodyHandlers.ofString()));
    } catch (FailsafeException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      if (e.getCause() instanceof InterruptedException interrupted) {
        throw interrupted;
      }
      throw e;
    }
  }

  /** What went wrong in a call that got no answer, in words. */
  static String failure(Throwable e) {
    String kind = ClientException.kindOf(e);
    String words =
        switch (kind) {
          case "connect-refused" -> "connection refused (is the node running there?)";
          case "connect-timeout" -> "no answer to the connect";
          case "too-many-open-files" -> "too many open files";
          default -> null;
        };
    if (words != null) {
      return words;
    }
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c.getMessage() != null && !c.getMessage().isBlank()) {
        return c.getMessage();
      }
    }
    return kind;
  }

  /**
   * Writes {@value #FILE} readable by this user only (0600): it holds the applications' live API
   * keys.
   */
  static void write(Path runDir, Setup setup) throws IOException {
    ObjectNode root = MAPPER.createObjectNode();
    ArrayNode list = root.putArray("apps");
    for (AppKey k : setup.apps()) {
      list.addObject().put("id", k.id()).put("key", k.key());
    }
    ArrayNode puids = root.putArray("puids");
    setup.puids().forEach(puids::add);
    Files.createDirectories(runDir);
    Path file = runDir.resolve(FILE);
    Files.deleteIfExists(file);
    try {
      Files.createFile(
          file,
          java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
              java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      // Not a POSIX file system: the folder's own protection applies.
    }
    Files.writeString(file, MAPPER.writeValueAsString(root), StandardCharsets.UTF_8);
  }

  /** What the coordinator set up for the run in {@code runDir}. */
  public static Setup load(Path runDir) {
    try {
      JsonNode root = MAPPER.readTree(runDir.resolve(FILE).toFile());
      List<AppKey> out = new ArrayList<>();
      root.path("apps")
          .forEach(a -> out.add(new AppKey(a.path("id").asLong(), a.path("key").asText())));
      List<String> puids = new ArrayList<>();
      root.path("puids").forEach(p -> puids.add(p.asText()));
      return new Setup(List.copyOf(out), List.copyOf(puids));
    } catch (IOException e) {
      throw new IllegalStateException(
          "cannot read " + runDir.resolve(FILE) + ": " + e.getMessage(), e);
    }
  }
}
