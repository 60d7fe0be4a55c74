package org.presence.gateway.testing;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A test WebSocket client on the JDK's {@link WebSocket}: collects text frames in a queue and
 * records how the server closed.
 */
public final class WsClient implements WebSocket.Listener, AutoCloseable {
  /** The server's close frame. */
  public record Close(int code, String reason) {}

  private final BlockingQueue<String> texts = new LinkedBlockingQueue<>();
  private final CompletableFuture<Close> closed = new CompletableFuture<>();
  private final StringBuilder partial = new StringBuilder();
  private WebSocket socket;

  private WsClient() {}

  /** Connects to {@code uri}. */
  public static WsClient connect(URI uri) {
    return connect(uri, Map.of());
  }

  /** Connects to {@code uri}, sending {@code headers} with the upgrade request. */
  public static WsClient connect(URI uri, Map<String, String> headers) {
    return connect(HttpClient.newHttpClient(), uri, headers);
  }

  /** Connects to {@code uri} with {@code client} (one that trusts a test CA, for {@code wss:}). */
  public static WsClient connect(HttpClient client, URI uri, Map<String, String> headers) {
    WsClient c = new WsClient();
    try {
      WebSocket.Builder builder =
          client.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5));
      headers.forEach(builder::header);
      c.socket = builder.buildAsync(uri, c).get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("cannot connect to " + uri, e);
    }
    return c;
  }

  /** Sends a text frame. */
  public void send(String text) {
    socket.sendText(text, true).join();
  }

  /** Sends a binary frame. */
  public void sendBinary(ByteBuffer data) {
    socket.sendBinary(data, true).join();
  }

  /** The next text frame, waiting up to {@code timeout}, or {@code null}. */
  public String next(Duration timeout) throws InterruptedException {
    return texts.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Completes with the server's close frame. */
  public CompletableFuture<Close> closed() {
    return closed;
  }

  @Override
  public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
    partial.append(data);
    if (last) {
      texts.add(partial.toString());
      partial.setLength(0);
    }
    ws.request(1);
    return null;
  }

  @Override
  public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
    ws.request(1);
    return null;
  }

  @Override
  public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
    closed.complete(new Close(statusCode, reason));
    return null;
  }

  @Override
  public void onError(WebSocket ws, Throwable error) {
    closed.completeExceptionally(error);
  }

  @Override
  public void close() {
    if (!socket.isOutputClosed()) {
      socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye");
    }
    socket.abort();
  }
}
