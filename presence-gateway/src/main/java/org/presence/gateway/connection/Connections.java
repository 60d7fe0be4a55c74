package org.presence.gateway.connection;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelId;
import java.net.SocketAddress;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.presence.gateway.metrics.GatewayMetrics;

/**
 * Every open client connection of the node, by kind, for the open-connections gauges and for
 * draining. A connection starts as {@link Kind#HTTP} and may be upgraded once (to a WebSocket or a
 * long-held stream), with the action that ends it politely when the node drains.
 *
 * <p>A connection that another registry of the node holds for the rest of its life (an open device
 * session, in the device registry by session id) is {@linkplain #handOver handed over}: it leaves
 * this one's map, and what walks every connection (draining, closing, counting) walks that registry
 * too ({@link #attach}). An idle device socket is thus one map entry, not two.
 */
public final class Connections {
  /** A registry that holds connections handed over to it ({@link #handOver}). */
  public interface Registry {
    /** How many connections it holds. */
    int size();

    /** Calls {@code action} with each connection it holds. */
    void forEachChannel(Consumer<Channel> action);
  }

  private static final Registry NONE =
      new Registry() {
        @Override
        public int size() {
          return 0;
        }

        @Override
        public void forEachChannel(Consumer<Channel> action) {}
      };

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
   * Kind and, for HTTP, whether a request is being answered, with the kind's open-connections
   * gauge: a handful of shared objects per node, one of which each connection's {@link
   * Backpressure} holds (no channel attribute, no per-connection object for it). Backpressure
   * counts the connection closed from the state it holds at {@code channelInactive}, while its
   * pipeline is still whole.
   */
  static final class State {
    final Kind kind;
    final boolean busy;
    final GatewayMetrics.UpDown open;

    /** The other HTTP state (idle for busy, busy for idle); {@code null} for an upgraded kind. */
    State toggled;

    State(Kind kind, boolean busy, GatewayMetrics.UpDown open) {
      this.kind = kind;
      this.busy = busy;
      this.open = open;
    }
  }

  private final ConcurrentHashMap<ChannelId, Channel> all = new ConcurrentHashMap<>();

  /** How each kind of upgraded connection is ended when the node drains; one action per kind. */
  private final ConcurrentHashMap<Kind, Consumer<Channel>> drainActions = new ConcurrentHashMap<>();

  /** The state of an HTTP connection between requests (each upgraded kind has its own). */
  private final State httpIdle;

  private final EnumMap<Kind, State> upgradedStates = new EnumMap<>(Kind.class);

  /** One listener for every connection: it forgets the connection. */
  private final ChannelFutureListener onClose;

  private volatile boolean draining;

  /** Where the connections handed over are; set once at start. */
  private volatile Registry elsewhere = NONE;

  /** The gateway port's per-address caps, or {@code null}. */
  private final AddressCaps addressCaps;

  public Connections(GatewayMetrics metrics) {
    this(metrics, null);
  }

  /** {@code addressCaps}: the gateway port's per-address caps, or {@code null} for none. */
  public Connections(GatewayMetrics metrics, AddressCaps addressCaps) {
    this.addressCaps = addressCaps;
    for (Kind k : Kind.values()) {
      if (k != Kind.HTTP) {
        upgradedStates.put(k, new State(k, false, metrics.connectionsOpen(k.label())));
      }
    }
    GatewayMetrics.UpDown http = metrics.connectionsOpen(Kind.HTTP.label());
    this.httpIdle = new State(Kind.HTTP, false, http);
    State httpBusy = new State(Kind.HTTP, true, http);
    httpIdle.toggled = httpBusy;
    httpBusy.toggled = httpIdle;
    this.onClose = f -> all.remove(f.channel().id());
  }

  /** The gateway port's per-address caps, or {@code null}. */
  public AddressCaps addressCaps() {
    return addressCaps;
  }

  /**
   * Registers a newly accepted connection as HTTP. Its pipeline already holds its {@link
   * Backpressure}, which keeps the connection's state and counts it closed.
   */
  public void opened(Channel ch) {
    Backpressure b = Backpressure.of(ch);
    if (b == null) {
      throw new IllegalStateException("a connection is opened with its backpressure handler");
    }
    b.connectionState(httpIdle);
    httpIdle.open.inc();
    all.put(ch.id(), ch);
    ch.closeFuture().addListener(onClose);
    if (draining) {
      ch.close();
    }
  }

  /**
   * Connections handed over ({@link #handOver}) are held by {@code registry}: draining, closing and
   * counting walk it as well. Called once at start.
   */
  public void attach(Registry registry) {
    this.elsewhere = registry;
  }

  /**
   * {@code ch} is held by the {@linkplain #attach attached} registry from now on, until it closes:
   * this one forgets it. Its state (kind, gauge) stays with its {@link Backpressure}.
   */
  public void handOver(Channel ch) {
    all.remove(ch.id());
  }

  /**
   * Marks {@code ch} as upgraded to {@code kind}; {@code onDrain} ends it when the node drains
   * (sends a WebSocket close 1001, or ends a stream). All connections of a kind share one drain
   * action: the last one given. Runs on the channel's event loop.
   */
  public void upgraded(Channel ch, Kind kind, Consumer<Channel> onDrain) {
    drainActions.put(kind, onDrain);
    Backpressure b = Backpressure.of(ch);
    State old = b.connectionState();
    State now = upgradedStates.get(kind);
    if (kind == Kind.HTTP || now == null) {
      throw new IllegalArgumentException("not an upgrade: " + kind);
    }
    b.connectionState(now);
    old.open.dec();
    now.open.inc();
  }

  private static State stateOf(Channel ch) {
    Backpressure b = Backpressure.of(ch);
    return b == null ? null : b.connectionState();
  }

  /** The kind of {@code ch}. */
  public static Kind kindOf(Channel ch) {
    State s = stateOf(ch);
    return s == null ? Kind.HTTP : s.kind;
  }

  /** Marks an HTTP connection as answering a request (true) or idle between requests (false). */
  public static void busy(Channel ch, boolean busy) {
    Backpressure b = Backpressure.of(ch);
    State s = b == null ? null : b.connectionState();
    if (s != null && s.kind == Kind.HTTP && s.busy != busy) {
      b.connectionState(s.toggled);
    }
  }

  /**
   * {@code ch} carries an authenticated session from now on (a device session opened, an update
   * socket or stream admitted): it no longer counts toward its address's cap on connections not yet
   * authenticated ({@link AddressCaps}). Once per connection is enough; again changes nothing.
   */
  public static void authenticated(Channel ch) {
    if (!ch.eventLoop().inEventLoop()) {
      ch.eventLoop().execute(() -> authenticated(ch));
      return;
    }
    Backpressure b = Backpressure.of(ch);
    AddressCaps.Slot slot = b == null ? null : b.addressSlot();
    if (slot != null) {
      slot.authenticated();
    }
  }

  /** Whether {@code ch} is an HTTP connection answering a request ({@link #busy}). */
  public static boolean isBusy(Channel ch) {
    State s = stateOf(ch);
    return s != null && s.kind == Kind.HTTP && s.busy;
  }

  /** Whether the node is draining: HTTP responses then carry {@code Connection: close}. */
  public boolean draining() {
    return draining;
  }

  /**
   * Open connections (one being handed over at that moment may be counted twice: it is in both
   * places for an instant).
   */
  public int size() {
    return all.size() + elsewhere.size();
  }

  /** The open connection whose client is at {@code remote}, or {@code null} (for tests). */
  public Channel find(SocketAddress remote) {
    for (Channel ch : all.values()) {
      if (remote.equals(ch.remoteAddress())) {
        return ch;
      }
    }
    Channel[] found = new Channel[1];
    elsewhere.forEachChannel(
        ch -> {
          if (found[0] == null && remote.equals(ch.remoteAddress())) {
            found[0] = ch;
          }
        });
    return found[0];
  }

  /**
   * Every open connection once: those of this map and those handed over (one being handed over
   * while this runs is in both places, and is taken once).
   */
  private Collection<Channel> everyChannel() {
    Map<ChannelId, Channel> every = new HashMap<>(all);
    elsewhere.forEachChannel(ch -> every.putIfAbsent(ch.id(), ch));
    return every.values();
  }

  /**
   * Starts draining: idle HTTP connections close now, busy ones after their response, upgraded ones
   * by their drain action.
   */
  public void drain() {
    draining = true;
    for (Channel ch : everyChannel()) {
      ch.eventLoop()
          .execute(
              () -> {
                State s = stateOf(ch);
                Kind kind = s == null ? Kind.HTTP : s.kind;
                Consumer<Channel> action = kind == Kind.HTTP ? null : drainActions.get(kind);
                if (action != null) {
                  action.accept(ch);
                } else if (s == null || !s.busy) {
                  ch.close();
                }
              });
    }
  }

  /** Closes every connection at once, waiting up to about two seconds for them to be closed. */
  public void closeAll() {
    long deadline = System.nanoTime() + 2_000_000_000L;
    Collection<Channel> every = everyChannel();
    for (Channel ch : every) {
      ch.close();
    }
    for (Channel ch : every) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      ch.closeFuture().awaitUninterruptibly(left / 1_000_000 + 1);
    }
  }
}
