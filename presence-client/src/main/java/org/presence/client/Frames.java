package org.presence.client;

import java.net.URI;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

/**
 * A {@link WebSocket.Listener} that hands whole text frames to a consumer and asks for the next
 * frame only when told ({@link #more()}): a consumer that does not keep up stops the reads, so TCP
 * slows the node down instead of memory growing here. Binary frames are ignored; a text message
 * over {@code maxChars} aborts the socket.
 */
final class Frames implements WebSocket.Listener {
  /** What a socket reports. */
  interface Sink {
    /** A whole text frame; call {@link Frames#more()} when done with it. */
    void text(String frame);

    /** A ping or pong: the peer is alive. */
    void alive();

    /** The peer's close frame (the client has answered it). */
    void closed(int code, String reason);

    /** The socket failed. */
    void failed(Throwable error);
  }

  private final Sink sink;
  private final int maxChars;
  private final StringBuilder partial = new StringBuilder();
  private volatile WebSocket socket;

  Frames(Sink sink, int maxChars) {
    this.sink = sink;
    this.maxChars = maxChars;
  }

  /** Asks for the next frame. */
  void more() {
    WebSocket ws = socket;
    if (ws != null) {
      ws.request(1);
    }
  }

  @Override
  public void onOpen(WebSocket webSocket) {
    socket = webSocket;
    webSocket.request(1);
  }

  @Override
  public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
    partial.append(data);
    if (partial.length() > maxChars) {
      partial.setLength(0);
      webSocket.abort();
      sink.failed(new PresenceException(-5, 0, "Frame from the node too large"));
      return null;
    }
    if (!last) {
      webSocket.request(1);
      return null;
    }
    String frame = partial.toString();
    partial.setLength(0);
    sink.text(frame);
    return null;
  }

  @Override
  public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
    webSocket.request(1);
    return null;
  }

  @Override
  public CompletionStage<?> onPing(WebSocket webSocket, ByteBuffer message) {
    // The JDK answers with a pong by itself.
    sink.alive();
    webSocket.request(1);
    return null;
  }

  @Override
  public CompletionStage<?> onPong(WebSocket webSocket, ByteBuffer message) {
    sink.alive();
    webSocket.request(1);
    return null;
  }

  @Override
  public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
    CompletableFuture<WebSocket> answered =
        webSocket.sendClose(WebSocket.NORMAL_CLOSURE, "").toCompletableFuture();
    answered.whenComplete((w, e) -> sink.closed(statusCode, reason));
    return answered;
  }

  @Override
  public void onError(WebSocket webSocket, Throwable error) {
    sink.failed(error);
  }

  /** {@code http(s)://host/path} or {@code ws(s)://...} as a WebSocket URI with {@code path}. */
  static URI webSocketUri(URI base, String path) {
    String scheme =
        switch (base.getScheme()) {
          case "https", "wss" -> "wss";
          default -> "ws";
        };
    return URI.create(scheme + "://" + base.getRawAuthority() + trimSlash(base) + path);
  }

  /** {@code ws(s)://host/path} or {@code http(s)://...} as an HTTP URI with {@code path}. */
  static URI httpUri(URI base, String path) {
    String scheme =
        switch (base.getScheme()) {
          case "https", "wss" -> "https";
          default -> "http";
        };
    return URI.create(scheme + "://" + base.getRawAuthority() + trimSlash(base) + path);
  }

  private static String trimSlash(URI base) {
    String p = base.getRawPath() == null ? "" : base.getRawPath();
    while (p.endsWith("/")) {
      p = p.substring(0, p.length() - 1);
    }
    return p;
  }

  /** Runs {@code task}, reporting a failure to {@code onError} instead of losing it. */
  static void guarded(Runnable task, Consumer<Throwable> onError) {
    try {
      task.run();
    } catch (RuntimeException e) {
      onError.accept(e);
    }
  }
}
