package org.presence.gateway.connection;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelId;
import io.netty.util.AttributeKey;
import java.net.SocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.presence.gateway.metrics.GatewayMetrics;

/**
 * Every open client connection of the node, by kind, for the open-connections gauges and for
 * draining. A connection starts as {@link Kind#HTTP} and may be upgraded once (to a WebSocket or a
 * long-held stream), with the action that ends it politely when the node drains.
 */
public final class Connections {
  /** What a connection carries. */
  public enum Kind {
    HTTP("http"),
    DEVICE("device"),
    APP("app"),
    STREAM("stream"),
    WEBSOCKET("websocket"),
    XMPP("xmpp");

    private final String label;

    Kind(String label) {
      this.label = label;
    }

    /** The metric label. */
    public String label() {
      return label;
    }
  }

  /**
   * Kind and, for HTTP, whether a request is being answered: one shared enum value per connection,
   * in one channel attribute, so that an idle socket carries no per-connection object for it.
   */
  private enum State {
    HTTP_IDLE(Kind.HTTP),
    HTTP_BUSY(Kind.HTTP),
    DEVICE(Kind.DEVICE),
    APP(Kind.APP),
    STREAM(Kind.STREAM),
    WEBSOCKET(Kind.WEBSOCKET),
    XMPP(Kind.XMPP);

    final Kind kind;

    State(Kind kind) {
      this.kind = kind;
    }

    static State of(Kind kind) {
      return switch (kind) {
        case HTTP -> HTTP_IDLE;
        case DEVICE -> DEVICE;
        case APP -> APP;
        case STREAM -> STREAM;
        case WEBSOCKET -> WEBSOCKET;
        case XMPP -> XMPP;
      };
    }
  }

  private static final AttributeKey<State> STATE = AttributeKey.valueOf("presence.connection");

  private final ConcurrentHashMap<ChannelId, Channel> all = new ConcurrentHashMap<>();

  /** How each kind of upgraded connection is ended when the node drains; one action per kind. */
  private final ConcurrentHashMap<Kind, Consumer<Channel>> drainActions = new ConcurrentHashMap<>();

  private final GatewayMetrics metrics;

  /** One listener for every connection: it forgets the connection and counts it closed. */
  private final ChannelFutureListener onClose;

  private volatile boolean draining;

  public Connections(GatewayMetrics metrics) {
    this.metrics = metrics;
    for (Kind k : Kind.values()) {
      metrics.connectionsOpen(k.label());
    }
    this.onClose =
        f -> {
          Channel ch = f.channel();
          all.remove(ch.id());
          metrics.connectionsOpen(kindOf(ch).label()).dec();
        };
  }

  /** Registers a newly accepted connection as HTTP. */
  public void opened(Channel ch) {
    ch.attr(STATE).set(State.HTTP_IDLE);
    metrics.connectionsOpen(Kind.HTTP.label()).inc();
    all.put(ch.id(), ch);
    ch.closeFuture().addListener(onClose);
    if (draining) {
      ch.close();
    }
  }

  /**
   * Marks {@code ch} as upgraded to {@code kind}; {@code onDrain} ends it when the node drains
   * (sends a WebSocket close 1001, or ends a stream). All connections of a kind share one drain
   * action: the last one given. Runs on the channel's event loop.
   */
  public void upgraded(Channel ch, Kind kind, Consumer<Channel> onDrain) {
    drainActions.put(kind, onDrain);
    State old = ch.attr(STATE).getAndSet(State.of(kind));
    metrics.connectionsOpen((old == null ? Kind.HTTP : old.kind).label()).dec();
    metrics.connectionsOpen(kind.label()).inc();
  }

  /** The kind of {@code ch}. */
  public static Kind kindOf(Channel ch) {
    State s = ch.attr(STATE).get();
    return s == null ? Kind.HTTP : s.kind;
  }

  /** Marks an HTTP connection as answering a request (true) or idle between requests (false). */
  public static void busy(Channel ch, boolean busy) {
    var attr = ch.attr(STATE);
    State s = attr.get();
    if (s == null || s.kind == Kind.HTTP) {
      attr.set(busy ? State.HTTP_BUSY : State.HTTP_IDLE);
    }
  }

  /** Whether the node is draining: HTTP responses then carry {@code Connection: close}. */
  public boolean draining() {
    return draining;
  }

  /** Open connections. */
  public int size() {
    return all.size();
  }

  /** The open connection whose client is at {@code remote}, or {@code null} (for tests). */
  public Channel find(SocketAddress remote) {
    for (Channel ch : all.values()) {
      if (remote.equals(ch.remoteAddress())) {
        return ch;
      }
    }
    return null;
  }

  /**
   * Starts draining: idle HTTP connections close now, busy ones after their response, upgraded ones
   * by their drain action.
   */
  public void drain() {
    draining = true;
    for (Channel ch : all.values()) {
      ch.eventLoop()
          .execute(
              () -> {
                State s = ch.attr(STATE).get();
                Kind kind = s == null ? Kind.HTTP : s.kind;
                Consumer<Channel> action = kind == Kind.HTTP ? null : drainActions.get(kind);
                if (action != null) {
                  action.accept(ch);
                } else if (s != State.HTTP_BUSY) {
                  ch.close();
                }
              });
    }
  }

  /** Closes every connection at once, waiting up to about two seconds for them to be closed. */
  public void closeAll() {
    long deadline = System.nanoTime() + 2_000_000_000L;
    for (Channel ch : all.values()) {
      ch.close();
    }
    for (Channel ch : all.values()) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      ch.closeFuture().awaitUninterruptibly(left / 1_000_000 + 1);
    }
  }
}
