package org.presence.gateway.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

/**
 * An application's webhook endpoint for tests, on loopback: records every call (time, headers,
 * body) and answers as told, one scripted behaviour per call (then 200): a status, a delay, a huge
 * body, a redirect; or 413 above a body size ({@link #refuseAbove}).
 */
public final class WebhookStub implements AutoCloseable {
  /** One call received. */
  public record Call(
      long atMillis,
      String method,
      String path,
      Map<String, List<String>> headers,
      byte[] body,
      Behaviour answer) {
    /** Whether the stub answered so that the call succeeds (200 at once, small body). */
    public boolean ok() {
      return answer.status() == 200 && answer.delayMillis() == 0 && answer.bodyBytes() == 0;
    }

    public String header(String name) {
      for (Map.Entry<String, List<String>> e : headers.entrySet()) {
        if (e.getKey().equalsIgnoreCase(name)) {
          return e.getValue().get(0);
        }
      }
      return null;
    }

    public String text() {
      return new String(body, java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  /** How to answer one call. */
  public record Behaviour(int status, long delayMillis, int bodyBytes, String location) {
    public static Behaviour status(int s) {
      return new Behaviour(s, 0, 0, null);
    }

    public static Behaviour hang(long millis) {
      return new Behaviour(200, millis, 0, null);
    }

    public static Behaviour hugeBody(int bytes) {
      return new Behaviour(200, 0, bytes, null);
    }

    public static Behaviour redirect(String location) {
      return new Behaviour(307, 0, 0, location);
    }
  }

  private final HttpServer server;
  private final List<Call> calls = new CopyOnWriteArrayList<>();
  private final Deque<Behaviour> script = new ArrayDeque<>();
  private volatile int maxBodyBytes = Integer.MAX_VALUE;

  private WebhookStub(HttpServer server) {
    this.server = server;
  }

  /** Starts a stub on 127.0.0.1 on a free port. */
  public static WebhookStub start() {
    try {
      HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
      WebhookStub stub = new WebhookStub(s);
      s.createContext("/", stub::handle);
      s.setExecutor(Executors.newFixedThreadPool(4));
      s.start();
      return stub;
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** Answers the next calls with {@code behaviours}, in order. */
  public synchronized WebhookStub then(Behaviour... behaviours) {
    script.addAll(List.of(behaviours));
    return this;
  }

  /**
   * Answers 413 to every call whose body is larger than {@code bytes}, as a receiver that caps
   * bodies does (the script is kept for the other calls).
   */
  public WebhookStub refuseAbove(int bytes) {
    maxBodyBytes = bytes;
    return this;
  }

  private void handle(HttpExchange ex) throws IOException {
    byte[] body = ex.getRequestBody().readAllBytes();
    Behaviour b;
    synchronized (this) {
      if (body.length > maxBodyBytes) {
        b = Behaviour.status(413);
      } else {
        b = script.isEmpty() ? Behaviour.status(200) : script.poll();
      }
    }
    calls.add(
        new Call(
            System.currentTimeMillis(),
            ex.getRequestMethod(),
            ex.getRequestURI().getPath(),
            Map.copyOf(ex.getRequestHeaders()),
            body,
            b));
    try {
      if (b.delayMillis() > 0) {
        Thread.sleep(b.delayMillis());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      if (b.location() != null) {
        ex.getResponseHeaders().set("Location", b.location());
      }
      if (b.bodyBytes() > 0) {
        ex.sendResponseHeaders(b.status(), b.bodyBytes());
        try (OutputStream out = ex.getResponseBody()) {
          byte[] chunk = new byte[8192];
          for (int sent = 0; sent < b.bodyBytes(); sent += chunk.length) {
            out.write(chunk, 0, Math.min(chunk.length, b.bodyBytes() - sent));
          }
        }
      } else {
        ex.sendResponseHeaders(b.status(), -1);
        ex.close();
      }
    } catch (IOException e) {
      // The caller gave up (timeout, too large): expected.
    }
  }

  /** The URL of {@code path} on this stub. */
  public String url(String path) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + path;
  }

  /** Calls so far. */
  public List<Call> calls() {
    return List.copyOf(calls);
  }

  @Override
  public void close() {
    server.stop(0);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }
}
