package org.presence.loadtest.transport;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakeException;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.loadtest.targets.ClientException;

/**
 * Opens client WebSockets cheaply: one pipeline per socket of an HTTP codec that the handshake
 * replaces with the WebSocket codec, so an idle socket holds no HTTP state and no buffer. Sockets
 * bind to the next {@link SourceAddresses} address and live on the event loop the caller names, so
 * a virtual user's socket and its scenario steps share one thread. A {@code wss://} URL gets TLS
 * first in the pipeline ({@link ClientTls}: the JVM's trust store, the host name checked).
 */
public final class WsConnector {
  /** Receives what a socket gets; called on its event loop. */
  public interface Listener {
    /** A text frame; {@code utf8} is valid only during the call and must not be released. */
    void onText(ByteBuf utf8);

    /**
     * The socket closed. {@code byUs} is true when this side began the close; otherwise {@code
     * closeCode} is the server's close code (or -1 when it sent no close frame) and {@code reason}
     * its close reason.
     */
    void onClosed(boolean byUs, int closeCode, String reason);
  }

  private final Transport transport;
  private final SourceAddresses sources;
  private final Duration timeout;
  private final boolean resetOnClose;

  /**
   * Sockets of {@code transport}, bound in turn to {@code sources}, with connect and handshake
   * {@code timeout}.
   */
  public WsConnector(Transport transport, SourceAddresses sources, Duration timeout) {
    this(transport, sources, timeout, false);
  }

  private WsConnector(
      Transport transport, SourceAddresses sources, Duration timeout, boolean resetOnClose) {
    this.transport = transport;
    this.sources = sources;
    this.timeout = timeout;
    this.resetOnClose = resetOnClose;
  }

  /**
   * The same connector, whose sockets close with a reset ({@code SO_LINGER} 0) rather than a FIN:
   * for benchmarks that open and drop many sockets in rounds, so that a finished round leaves no
   * ports in TIME_WAIT.
   */
  public WsConnector resettingOnClose() {
    return new WsConnector(transport, sources, timeout, true);
  }

  /**
   * Opens a WebSocket to {@code uri} (ws:// or wss://) on {@code loop}; completes after the
   * upgrade.
   */
  public CompletionStage<WsConnection> connect(URI uri, EventLoop loop, Listener listener) {
    return connect(uri, loop, null, listener);
  }

  /**
   * Opens a WebSocket to {@code uri} (ws:// or wss://) on {@code loop} from {@code local} (when
   * null, the next of the connector's source addresses); completes after the upgrade.
   */
  public CompletionStage<WsConnection> connect(
      URI uri, EventLoop loop, InetSocketAddress local, Listener listener) {
    CompletableFuture<WsConnection> result = new CompletableFuture<>();
    boolean tls = "wss".equalsIgnoreCase(uri.getScheme());
    int port = uri.getPort() > 0 ? uri.getPort() : tls ? 443 : 80;
    WebSocketClientProtocolConfig config =
        WebSocketClientProtocolConfig.newBuilder()
            .webSocketUri(uri)
            .handleCloseFrames(false)
            .dropPongFrames(true)
            .handshakeTimeoutMillis(timeout.toMillis())
            .maxFramePayloadLength(1 << 20)
            // The harness measures load and latency; whether the node writes valid UTF-8 is for
            // the node's own tests. Checking every byte received again is CPU taken from the load
            // the harness generates (on one machine, from the node too).
            .withUTF8Validator(false)
            .build();
    Bootstrap b =
        transport
            .clientOn(loop, timeout)
            .handler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    ChannelPipeline p = ch.pipeline();
                    if (tls) {
                      p.addLast("tls", ClientTls.handler(ch.alloc(), uri.getHost(), port));
                    }
                    p.addLast("http-codec", new HttpClientCodec());
                    p.addLast("http-aggregator", new HttpObjectAggregator(16 * 1024));
                    p.addLast("ws-protocol", new WebSocketClientProtocolHandler(config));
                    p.addLast("ws-frames", new FrameHandler(result, listener));
                  }
                });
    if (resetOnClose) {
      b.option(ChannelOption.SO_LINGER, 0);
    }
    InetSocketAddress from = local != null ? local : sources.next();
    InetSocketAddress resolved = new InetSocketAddress(uri.getHost(), port);
    ChannelFuture opening = from == null ? b.connect(resolved) : b.connect(resolved, from);
    opening.addListener(
        f -> {
          if (!f.isSuccess()) {
            result.completeExceptionally(f.cause());
          }
        });
    // A connect that failed, or that the caller gave up on (completed the result itself, as a run
    // that stops does), leaves no socket behind.
    result.whenComplete(
        (c, e) -> {
          if (e != null) {
            opening.channel().close();
          }
        });
    return result;
  }

  /** Completes the connect on the handshake, then passes frames on. */
  static final class FrameHandler extends SimpleChannelInboundHandler<WebSocketFrame> {
    private final CompletableFuture<WsConnection> result;
    private final Listener listener;
    private int closeCode = -1;
    private String closeReason = "";
    private boolean closingByUs;
    private WsConnection connection;

    FrameHandler(CompletableFuture<WsConnection> result, Listener listener) {
      this.result = result;
      this.listener = listener;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
        connection = new WsConnection(ctx.channel(), this);
        if (!result.complete(connection)) {
          ctx.close(); // given up on before the upgrade
        }
      } else if (evt
          == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_TIMEOUT) {
        result.completeExceptionally(new ClientException("handshake-timeout", "no upgrade"));
        ctx.close();
      }
      super.userEventTriggered(ctx, evt);
    }

    /** This side is closing the socket. */
    void closingByUs() {
      closingByUs = true;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
      if (frame instanceof TextWebSocketFrame) {
        listener.onText(frame.content());
      } else if (frame instanceof CloseWebSocketFrame close) {
        closeCode = close.statusCode();
        closeReason = close.reasonText();
        ctx.writeAndFlush(new CloseWebSocketFrame(close.statusCode(), ""))
            .addListener(f -> ctx.close());
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      if (!result.isDone()) {
        result.completeExceptionally(new ClientException("closed", "closed before the upgrade"));
      } else if (!result.isCompletedExceptionally()) {
        listener.onClosed(closingByUs, closeCode, closeReason);
      }
      if (connection != null) {
        connection.closedAndTold();
      }
      super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (!result.isDone()) {
        result.completeExceptionally(
            cause instanceof WebSocketClientHandshakeException
                ? new ClientException("handshake-failed", String.valueOf(cause.getMessage()))
                : cause);
      }
      ctx.close();
    }
  }
}
