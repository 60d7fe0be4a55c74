package org.presence.loadtest.presence;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.EventLoop;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.client.DeviceFrames;
import org.presence.client.PresenceException;
import org.presence.client.PresenceStatus;
import org.presence.loadtest.targets.ClientException;
import org.presence.loadtest.targets.Reply;
import org.presence.loadtest.transport.WsConnection;
import org.presence.loadtest.transport.WsConnector;

/**
 * One device's socket on a node's device channel ({@code /presence}) and, once connected, its
 * session: the harness's socket ({@link WsConnector}: an event loop shared with thousands of other
 * sessions, the run's source addresses) speaking the device protocol through presence-client's
 * {@link DeviceFrames}. Answers come in request order, so the session keeps a queue of pending
 * requests; frames the node pushes ({@code notifications}, {@code settings}) and answers nobody
 * waits for (the error before the node closes a session) go to the {@link Listener} unread. The
 * load harness's virtual devices ({@link PresenceDevices}) and the device benchmarks use it.
 * Failures complete with a {@link ClientException}.
 */
public final class DeviceSession implements WsConnector.Listener {
  /** What the session hands on; called on its event loop. */
  public interface Listener {
    /** A pushed frame; {@code utf8} is only valid during the call and must not be released. */
    void pushed(ByteBuf utf8);

    /** The socket closed ({@link WsConnector.Listener#onClosed}). */
    void closed(boolean byUs, int closeCode, String reason);
  }

  /** A listener that ignores everything. */
  public static final Listener IGNORE =
      new Listener() {
        @Override
        public void pushed(ByteBuf utf8) {}

        @Override
        public void closed(boolean byUs, int closeCode, String reason) {}
      };

  private static final int PUSH_PREFIX = 16;

  /**
   * The node's answer to an accepted status, byte for byte as it writes it: recognised without
   * decoding, as the floor's answering target recognises its own (any other spelling of it is still
   * read by {@link DeviceFrames#read}).
   */
  private static final byte[] PLAIN_ACCEPT =
      "{\"result\":true}".getBytes(StandardCharsets.US_ASCII);

  private static final DeviceFrames.Accepted ACCEPTED = new DeviceFrames.Accepted(null, 0);

  private final Listener listener;
  private final ArrayDeque<CompletableFuture<DeviceFrames.Frame>> pending = new ArrayDeque<>(2);
  private final CompletableFuture<Void> closed = new CompletableFuture<>();
  private volatile WsConnection conn;
  private volatile CompletableFuture<WsConnection> opening;
  private volatile String sessionId;

  private DeviceSession(Listener listener) {
    this.listener = listener;
  }

  /**
   * Opens a WebSocket to {@code uri} on {@code loop} through {@code connector}, bound to {@code
   * local} (or the connector's next source address when null); no session yet.
   */
  public static CompletionStage<DeviceSession> open(
      WsConnector connector, URI uri, EventLoop loop, InetSocketAddress local, Listener listener) {
    return new DeviceSession(listener).open(connector, uri, loop, local);
  }

  /**
   * A session not opened yet, to be opened with {@link #open(WsConnector, URI, EventLoop,
   * InetSocketAddress)}.
   */
  public static DeviceSession unopened(Listener listener) {
    return new DeviceSession(listener);
  }

  /**
   * Opens this session's WebSocket to {@code uri} on {@code loop} (as {@link #open(WsConnector,
   * URI, EventLoop, InetSocketAddress, Listener)} does); {@link #abort()} gives up on it before the
   * upgrade.
   */
  public CompletionStage<DeviceSession> open(
      WsConnector connector, URI uri, EventLoop loop, InetSocketAddress local) {
    CompletableFuture<WsConnection> c =
        connector.connect(uri, loop, local, this).toCompletableFuture();
    opening = c;
    return c.thenApply(
        x -> {
          conn = x;
          return this;
        });
  }

  /**
   * Opens a socket and a session with {@code assertion} as device {@code device}; fails with the
   * node's errno ({@link ClientException#errno}) when it refuses the session, and closes the socket
   * then.
   */
  public static CompletionStage<DeviceSession> connect(
      WsConnector connector,
      URI uri,
      EventLoop loop,
      InetSocketAddress local,
      String assertion,
      String device,
      Listener listener) {
    return open(connector, uri, loop, local, listener)
        .thenCompose(s -> s.connect(assertion, device).thenApply(id -> s));
  }

  /**
   * Opens the session on this open socket with {@code assertion} as device {@code device};
   * completes with the session id, or fails as {@link #connect(WsConnector, URI, EventLoop,
   * InetSocketAddress, String, String, Listener)} does.
   */
  public CompletionStage<String> connect(String assertion, String device) {
    return request(DeviceFrames.connect(assertion, device, null))
        .thenApply(
            reply -> {
              if (reply instanceof DeviceFrames.Accepted a && a.sessionId() != null) {
                sessionId = a.sessionId();
                return a.sessionId();
              }
              conn.close();
              throw reply instanceof DeviceFrames.Refused r
                  ? ClientException.errno(r.errno(), r.reason())
                  : new ClientException("unexpected-answer", String.valueOf(reply));
            });
  }

  /** The session id, once connected. */
  public String sessionId() {
    return sessionId;
  }

  /**
   * Sends a status of this session with {@code message}; completes with the node's answer: {@link
   * Reply#ack()} or its error.
   */
  public CompletionStage<Reply> status(PresenceStatus status, String message) {
    String id = sessionId;
    if (id == null || !isOpen()) {
      return CompletableFuture.failedFuture(new ClientException("closed", "not connected"));
    }
    return request(DeviceFrames.status(id, status, message))
        .thenApply(
            reply ->
                reply instanceof DeviceFrames.Refused r
                    ? Reply.error(r.errno(), r.reason())
                    : Reply.ack());
  }

  private CompletionStage<DeviceFrames.Frame> request(String frame) {
    CompletableFuture<DeviceFrames.Frame> answer = new CompletableFuture<>();
    WsConnection c = conn;
    EventLoop loop = c.eventLoop();
    if (loop.inEventLoop()) {
      send(c, frame, answer);
    } else {
      loop.execute(() -> send(c, frame, answer));
    }
    return answer;
  }

  private void send(WsConnection c, String frame, CompletableFuture<DeviceFrames.Frame> answer) {
    if (!c.isOpen()) {
      answer.completeExceptionally(new ClientException("closed", "not connected"));
      return;
    }
    pending.add(answer);
    c.send(ByteBufUtil.writeUtf8(c.channel().alloc(), frame))
        .addListener(
            f -> {
              if (!f.isSuccess() && pending.remove(answer)) {
                answer.completeExceptionally(new ClientException("write-failed", "" + f.cause()));
              }
            });
  }

  @Override
  public void onText(ByteBuf utf8) {
    if (!pending.isEmpty() && isPlainAccept(utf8)) {
      pending.poll().complete(ACCEPTED);
      return;
    }
    if (pending.isEmpty() || DeviceFrames.isPushed(prefix(utf8))) {
      listener.pushed(utf8);
      return;
    }
    CompletableFuture<DeviceFrames.Frame> waiting = pending.poll();
    try {
      waiting.complete(DeviceFrames.read(utf8.toString(StandardCharsets.UTF_8)));
    } catch (PresenceException e) {
      waiting.completeExceptionally(new ClientException("bad-answer", e.getMessage()));
    }
  }

  private static boolean isPlainAccept(ByteBuf utf8) {
    int n = PLAIN_ACCEPT.length;
    if (utf8.readableBytes() != n) {
      return false;
    }
    int at = utf8.readerIndex();
    for (int i = 0; i < n; i++) {
      if (utf8.getByte(at + i) != PLAIN_ACCEPT[i]) {
        return false;
      }
    }
    return true;
  }

  /** The frame's first characters, enough to tell a push from an answer. */
  private static String prefix(ByteBuf utf8) {
    return utf8.toString(
        utf8.readerIndex(), Math.min(PUSH_PREFIX, utf8.readableBytes()), StandardCharsets.US_ASCII);
  }

  @Override
  public void onClosed(boolean byUs, int closeCode, String reason) {
    CompletableFuture<DeviceFrames.Frame> f;
    while ((f = pending.poll()) != null) {
      f.completeExceptionally(new ClientException("closed", reason));
    }
    listener.closed(byUs, closeCode, reason);
    closed.complete(null);
  }

  /** Sends a normal close frame and closes the socket; completes when it is closed. */
  public CompletionStage<Void> close() {
    return conn.close();
  }

  /**
   * Closes the socket at once, without a close frame; a socket still opening is given up (its open
   * fails with {@code unfinished}) and closed.
   */
  public void abort() {
    CompletableFuture<WsConnection> o = opening;
    if (o != null) {
      o.completeExceptionally(new ClientException("unfinished", "given up before the upgrade"));
    }
    WsConnection c = conn;
    if (c != null) {
      c.channel().close();
    }
  }

  /** Completes when the socket is closed, by either side, once the listener was told. */
  public CompletionStage<Void> closedFuture() {
    return closed;
  }

  /** Whether the socket is open. */
  public boolean isOpen() {
    WsConnection c = conn;
    return c != null && c.isOpen();
  }
}
