package org.presence.loadtest.client;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayDeque;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.presence.protocol.device.DeviceCodec;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.device.DeviceMessage.Connected;
import org.presence.protocol.device.DeviceMessage.ErrorReply;
import org.presence.protocol.device.DeviceMessage.StatusUpdate;
import org.presence.protocol.device.DeviceReplyCodec;
import org.presence.protocol.model.PresenceStatus;

/**
 * A lean Netty client of the device channel ({@code /presence}), for load runs and benchmarks: many
 * sessions per process on a few event loops, each a WebSocket that speaks the device protocol
 * through {@link DeviceCodec}. Answers arrive in request order, so each session keeps a queue of
 * pending requests; frames the server sends on its own (an error before it closes, say) go to the
 * session's listener.
 *
 * <pre>
 * try (DeviceClient client = DeviceClient.create(2)) {
 *   DeviceClient.Session s = client.connect(uri, null, new Connect(token, null, "phone")).join();
 *   s.status(PresenceStatus.ONLINE, null).join();
 * }
 * </pre>
 */
public final class DeviceClient implements AutoCloseable {
  private final EventLoopGroup group;
  private final Bootstrap bootstrap;

  private DeviceClient(EventLoopGroup group, Bootstrap bootstrap) {
    this.group = group;
    this.bootstrap = bootstrap;
  }

  /** A client on {@code threads} event loops (epoll where available). */
  public static DeviceClient create(int threads) {
    boolean epoll = Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    EventLoopGroup group =
        new MultiThreadIoEventLoopGroup(
            threads, new DefaultThreadFactory("device-client", true), io);
    Bootstrap b =
        new Bootstrap()
            .group(group)
            .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 30_000)
            // Abort (not close) sends a reset, so a finished run leaves no TIME_WAIT ports.
            .option(ChannelOption.SO_LINGER, 0);
    return new DeviceClient(group, b);
  }

  /**
   * Opens a socket on {@code uri} and completes the WebSocket handshake; no session yet.
   *
   * @param local the source address to bind, or {@code null}
   */
  public CompletableFuture<Session> open(URI uri, SocketAddress local) {
    CompletableFuture<Session> opened = new CompletableFuture<>();
    Session session = new Session(opened);
    WebSocketClientProtocolConfig config =
        WebSocketClientProtocolConfig.newBuilder()
            .webSocketUri(uri)
            .version(WebSocketVersion.V13)
            .customHeaders(new DefaultHttpHeaders())
            .maxFramePayloadLength(64 * 1024)
            .handshakeTimeoutMillis(30_000)
            .dropPongFrames(true)
            .build();
    Bootstrap b =
        bootstrap
            .clone()
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    // Before anything can complete: answers may come before connect listeners run.
                    session.channel = ch;
                    ch.pipeline()
                        .addLast(new HttpClientCodec())
                        .addLast(new HttpObjectAggregator(8192))
                        .addLast(new WebSocketClientProtocolHandler(config))
                        .addLast(session.handler);
                  }
                });
    InetSocketAddress remote =
        new InetSocketAddress(uri.getHost(), uri.getPort() < 0 ? 80 : uri.getPort());
    ChannelFuture f = local == null ? b.connect(remote) : b.connect(remote, local);
    f.addListener(
        done -> {
          if (!done.isSuccess()) {
            opened.completeExceptionally(done.cause());
          } else {
            f.channel()
                .closeFuture()
                .addListener(
                    c -> {
                      opened.completeExceptionally(
                          new ClientException("closed before the handshake completed"));
                      session.closed();
                    });
          }
        });
    return opened;
  }

  /**
   * Opens a socket and a session with {@code connect}; fails with a {@link ClientException}
   * carrying the server's error when the session is refused.
   */
  public CompletableFuture<Session> connect(URI uri, SocketAddress local, Connect connect) {
    return open(uri, local)
        .thenCompose(
            s ->
                s.request(connect)
                    .thenApply(
                        reply -> {
                          if (reply instanceof Connected c) {
                            s.sessionId = c.sessionId();
                            return s;
                          }
                          s.abort();
                          throw new ClientException("connect refused: " + reply);
                        }));
  }

  @Override
  public void close() {
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** A failed request, handshake or connect. */
  public static final class ClientException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ClientException(String message) {
      super(message, null, false, false);
    }
  }

  /** One socket of the device channel and, once connected, its session. */
  public static final class Session {
    private final CompletableFuture<Session> opened;
    private final ArrayDeque<CompletableFuture<DeviceMessage>> pending = new ArrayDeque<>(2);
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private final Handler handler = new Handler();
    private volatile Channel channel;
    private volatile UUID sessionId;
    private volatile Consumer<DeviceMessage> unsolicited = m -> {};

    private Session(CompletableFuture<Session> opened) {
      this.opened = opened;
    }

    /** The session id, once connected. */
    public UUID sessionId() {
      return sessionId;
    }

    public Channel channel() {
      return channel;
    }

    /** Called with frames the server sends without a request waiting (errors before a close). */
    public void onUnsolicited(Consumer<DeviceMessage> listener) {
      this.unsolicited = listener;
    }

    /** Sends {@code message}; completes with the server's answer. */
    public CompletableFuture<DeviceMessage> request(DeviceMessage message) {
      CompletableFuture<DeviceMessage> answer = new CompletableFuture<>();
      Channel ch = channel;
      ch.eventLoop()
          .execute(
              () -> {
                if (!ch.isActive()) {
                  answer.completeExceptionally(new ClientException("closed"));
                  return;
                }
                pending.add(answer);
                ByteBuf buf = ch.alloc().buffer(128);
                DeviceCodec.encode(message, buf);
                ch.writeAndFlush(new TextWebSocketFrame(buf));
              });
      return answer;
    }

    /** Sends a status update of this session. */
    public CompletableFuture<DeviceMessage> status(PresenceStatus status, String message) {
      return request(new StatusUpdate(sessionId, status, message, null));
    }

    /** Sends raw text, expecting no particular answer. */
    public void sendText(String text) {
      channel.writeAndFlush(new TextWebSocketFrame(text));
    }

    /** Completes when the socket is closed. */
    public CompletableFuture<Void> closedFuture() {
      return closed;
    }

    /** Closes the socket at once with a reset. */
    public void abort() {
      Channel ch = channel;
      if (ch != null) {
        ch.close();
      }
    }

    private void closed() {
      Channel ch = channel;
      Runnable fail =
          () -> {
            CompletableFuture<DeviceMessage> f;
            while ((f = pending.poll()) != null) {
              f.completeExceptionally(new ClientException("closed"));
            }
            closed.complete(null);
          };
      if (ch != null && !ch.eventLoop().isShuttingDown()) {
        ch.eventLoop().execute(fail);
      } else {
        fail.run();
      }
    }

    private final class Handler extends SimpleChannelInboundHandler<TextWebSocketFrame> {
      @Override
      public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
          opened.complete(Session.this);
        }
        super.userEventTriggered(ctx, evt);
      }

      @Override
      protected void channelRead0(ChannelHandlerContext ctx, TextWebSocketFrame frame) {
        DeviceMessage m = DeviceReplyCodec.decode(frame.content());
        CompletableFuture<DeviceMessage> waiting = pending.poll();
        if (waiting != null) {
          waiting.complete(m);
        } else {
          unsolicited.accept(m);
        }
      }

      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        opened.completeExceptionally(cause);
        ctx.close();
      }
    }
  }

  /** Whether {@code m} is an error answer. */
  public static boolean isError(DeviceMessage m) {
    return m instanceof ErrorReply;
  }
}
