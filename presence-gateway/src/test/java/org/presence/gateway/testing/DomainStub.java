package org.presence.gateway.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

/**
 * A developer's web site for tests, on loopback: serves {@code /__presence} (or any path) with a
 * chosen status, type and body, and records the requests it got (the grant's redirect back).
 */
public final class DomainStub implements AutoCloseable {
  /** What one path answers. */
  public record Answer(int status, String contentType, String body, Map<String, String> headers) {}

  private final HttpServer server;
  private final Map<String, Answer> answers = new ConcurrentHashMap<>();
  private final List<String> requests = new CopyOnWriteArrayList<>();

  private DomainStub(HttpServer server) {
    this.server = server;
  }

  /** Starts a stub on 127.0.0.1 on a free port. */
  public static DomainStub start() {
    try {
      HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
      DomainStub stub = new DomainStub(s);
      s.createContext("/", stub::handle);
      // A thread per connection: the JDK server reads a request line on the executor's thread, so
      // a connection that never sends one (a node's https attempt: a TLS hello) holds that thread
      // until the node gives up, and must not hold back the node's plain-http proof behind it.
      s.setExecutor(Executors.newCachedThreadPool());
      s.start();
      return stub;
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private void handle(HttpExchange ex) throws IOException {
    String target = ex.getRequestURI().toString();
    requests.add(
        ex.getRequestMethod() + " " + target + " Host=" + ex.getRequestHeaders().getFirst("Host"));
    Answer a = answers.get(ex.getRequestURI().getPath());
    if (a == null) {
      a = new Answer(404, "text/plain", "not here", Map.of());
    }
    byte[] body = a.body().getBytes(StandardCharsets.UTF_8);
    if (a.contentType() != null) {
      ex.getResponseHeaders().set("Content-Type", a.contentType());
    }
    a.headers().forEach((k, v) -> ex.getResponseHeaders().set(k, v));
    ex.sendResponseHeaders(a.status(), body.length == 0 ? -1 : body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }

  /** Serves {@code key} as text/plain at {@code /__presence}. */
  public DomainStub serveKey(String key) {
    return serve("/__presence", new Answer(200, "text/plain; charset=utf-8", key + "\n", Map.of()));
  }

  /** Serves {@code answer} at {@code path}. */
  public DomainStub serve(String path, Answer answer) {
    answers.put(path, answer);
    return this;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** {@code 127.0.0.1:port}: the domain to register. */
  public String domain() {
    return "127.0.0.1:" + port();
  }

  /** Requests received so far, as {@code METHOD target Host=...}. */
  public List<String> requests() {
    return requests;
  }

  @Override
  public void close() {
    server.stop(0);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }
}
