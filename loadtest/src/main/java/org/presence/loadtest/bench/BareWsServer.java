package org.presence.loadtest.bench;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.internal.PlatformDependent;
import java.nio.charset.StandardCharsets;

/**
 * The comparison point of the idle-density benchmark: a textbook Netty WebSocket server (HTTP codec
 * and aggregator, {@code WebSocketServerProtocolHandler}, an echo handler) on the same transport
 * and number of event loops as the gateway, holding sockets and nothing else. Other HTTP requests
 * get {@code jvm_netty_direct_used <bytes>} (the line the gateway's {@code /metrics} has too). Run:
 * {@code BareWsServer <port> <io threads>}.
 */
public final class BareWsServer {
  private BareWsServer() {}

  public static void main(String[] args) throws InterruptedException {
    int port = Integer.parseInt(args[0]);
    int threads = args.length > 1 ? Integer.parseInt(args[1]) : 0;
    boolean epoll = Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    EventLoopGroup boss =
        new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("bare-accept"), io);
    EventLoopGroup workers =
        new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("bare-io"), io);
    Echo echo = new Echo();
    Stats stats = new Stats();
    Channel server =
        new ServerBootstrap()
            .group(boss, workers)
            .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
            .option(ChannelOption.SO_BACKLOG, 4096)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast(new HttpServerCodec())
                        .addLast(new HttpObjectAggregator(65536))
                        .addLast(new WebSocketServerProtocolHandler("/ws"))
                        .addLast(echo)
                        .addLast(stats);
                  }
                })
            .bind("127.0.0.1", port)
            .sync()
            .channel();
    server.closeFuture().sync();
  }

  /** Echoes text frames. */
  @Sharable
  private static final class Echo extends SimpleChannelInboundHandler<TextWebSocketFrame> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, TextWebSocketFrame frame) {
      ctx.writeAndFlush(new TextWebSocketFrame(frame.content().retain()));
    }
  }

  /** Answers any other HTTP request with the direct-memory line. */
  @Sharable
  private static final class Stats extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
      byte[] body =
          ("jvm_netty_direct_used " + PlatformDependent.usedDirectMemory() + "\n")
              .getBytes(StandardCharsets.UTF_8);
      FullHttpResponse r =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(body));
      r.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
      ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
    }
  }
}
