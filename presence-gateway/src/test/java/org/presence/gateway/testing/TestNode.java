package org.presence.gateway.testing;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.presence.gateway.PresenceServer;
import org.presence.gateway.config.ConfigLoader;
import org.presence.gateway.config.PresenceConfig;
import org.presence.gateway.http.HttpRoutes;

/**
 * A node started in-process for a test, on a free port, with its data in a temporary directory,
 * plus a small HTTP client pointed at it. Close it at the end of the test.
 */
public final class TestNode implements NodeAddress, AutoCloseable {
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private final PresenceServer server;

  private TestNode(PresenceServer server) {
    this.server = server;
  }

  /** Settings every test node uses: free ports and a short drain. */
  public static Map<String, String> baseSettings(Path dataDir) {
    Map<String, String> s = new HashMap<>();
    s.put("gateway.port", "0");
    s.put("admin.port", "0");
    s.put("gateway.drain-timeout", "3s");
    s.put("data-dir", dataDir.toString());
    s.put("node-id", "test-node");
    return s;
  }

  /** An embedded-default node with its data in {@code dataDir}. */
  public static TestNode embedded(Path dataDir) {
    return start(baseSettings(dataDir), r -> {});
  }

  /** A node with the given settings (paths below {@code presence}) and extra routes. */
  public static TestNode start(Map<String, String> settings, Consumer<HttpRoutes.Builder> routes) {
    PresenceConfig config = ConfigLoader.load(null, Map.of(), settings);
    return new TestNode(PresenceServer.start(config, routes));
  }

  public PresenceServer server() {
    return server;
  }

  /** A development identity token for {@code email}, valid for an hour (dev signing must be on). */
  @Override
  public String token(String email) {
    return server
        .devIdentity()
        .mint(email, Duration.ofHours(1), server.config().identity().audience());
  }

  public int port() {
    return server.address().getPort();
  }

  /** {@code http://127.0.0.1:port} + {@code path}. */
  @Override
  public URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port() + path);
  }

  /** {@code ws://127.0.0.1:port} + {@code path}. */
  @Override
  public URI wsUri(String path) {
    return URI.create("ws://127.0.0.1:" + port() + path);
  }

  /** GET {@code path}. */
  public HttpResponse<String> get(String path) {
    return send(HttpRequest.newBuilder(uri(path)).GET().build());
  }

  /** The admin port (the operator's endpoints and {@code /metrics}). */
  public int adminPort() {
    return server.adminAddress().getPort();
  }

  /** GET {@code path} on the admin port. */
  public HttpResponse<String> adminGet(String path) {
    return send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort() + path)).GET().build());
  }

  /** Sends {@code request} and returns the response with its body as text. */
  public static HttpResponse<String> send(HttpRequest request) {
    try {
      return CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new AssertionError("request failed: " + request, e);
    }
  }

  @Override
  public void close() {
    server.close();
  }
}
