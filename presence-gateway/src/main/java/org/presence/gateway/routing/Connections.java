package org.presence.gateway.routing;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.GlobalEventExecutor;
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
    WEBSOCKET("websocket");

    private final String label;

    Kind(String label) {
      this.label = label;
    }

    /** The metric label. */
    public String label() {
      return label;
    }
  }

  private static final AttributeKey<Kind> KIND = AttributeKey.valueOf("presence.kind");
  private static final AttributeKey<Consumer<Channel>> ON_DRAIN =
      AttributeKey.valueOf("presence.onDrain");
  private static final AttributeKey<Boolean> BUSY = AttributeKey.valueOf("presence.busy");

  private final ChannelGroup all = new DefaultChannelGroup("clients", GlobalEventExecutor.INSTANCE);
  private final GatewayMetrics metrics;
  private volatile boolean draining;

  public Connections(GatewayMetrics metrics) {
    this.metrics = metrics;
    for (Kind k : Kind.values()) {
      metrics.connectionsOpen(k.label());
    }
  }

  /** Registers a newly accepted connection as HTTP. */
  public void opened(Channel ch) {
    ch.attr(KIND).set(Kind.HTTP);
    metrics.connectionsOpen(Kind.HTTP.label()).inc();
    ch.closeFuture()
        .addListener(f -> metrics.connectionsOpen(ch.attr(KIND).get().label()).dec());
    all.add(ch);
    if (draining) {
      ch.close();
    }
  }

  /**
   * Marks {@code ch} as upgraded to {@code kind}; {@code onDrain} ends it when the node drains
   * (sends a WebSocket close 1001, or ends a stream). Runs on the channel's event loop.
   */
  public void upgraded(Channel ch, Kind kind, Consumer<Channel> onDrain) {
    Kind old = ch.attr(KIND).getAndSet(kind);
    metrics.connectionsOpen(old.label()).dec();
    metrics.connectionsOpen(kind.label()).inc();
    ch.attr(ON_DRAIN).set(onDrain);
  }

  /** The kind of {@code ch}. */
  public static Kind kindOf(Channel ch) {
    Kind k = ch.attr(KIND).get();
    return k == null ? Kind.HTTP : k;
  }

  /** Marks an HTTP connection as answering a request (true) or idle between requests (false). */
  public static void busy(Channel ch, boolean busy) {
    ch.attr(BUSY).set(busy);
  }

  /** Whether the node is draining: HTTP responses then carry {@code Connection: close}. */
  public boolean draining() {
    return draining;
  }

  /** Open connections. */
  public int size() {
    return all.size();
  }

  /**
   * Starts draining: idle HTTP connections close now, busy ones after their response, upgraded
   * ones by their drain action.
   */
  public void drain() {
    draining = true;
    for (Channel ch : all) {
      ch.eventLoop()
          .execute(
              () -> {
                Consumer<Channel> action = ch.attr(ON_DRAIN).get();
                if (action != null) {
                  action.accept(ch);
                } else if (!Boolean.TRUE.equals(ch.attr(BUSY).get())) {
                  ch.close();
                }
              });
    }
  }

  /** Closes every connection at once. */
  public void closeAll() {
    all.close().awaitUninterruptibly(2000);
  }
}
