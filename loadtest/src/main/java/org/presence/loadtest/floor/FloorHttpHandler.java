package org.presence.loadtest.floor;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.util.internal.PlatformDependent;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.presence.loadtest.probe.ProcStatus;

/**
 * The floor's only HTTP handler: upgrades {@code /hold} and {@code /relay/...}, answers {@code
 * /__floor__/stats}, and 404s the rest. Shared by every connection; it removes itself (with the
 * HTTP codec, which the handshaker replaces) once a socket is upgraded.
 */
@ChannelHandler.Sharable
final class FloorHttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  static final String CODEC = "http-codec";
  static final String AGGREGATOR = "http-aggregator";
  static final String NAME = "floor-http";
  static final String FRAMES = "floor-frames";

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final FloorState state;
  private final Executor statsExecutor;
  private final FloorFrameHandler hold;

  FloorHttpHandler(FloorState state, Executor statsExecutor) {
    this.state = state;
    this.statsExecutor = statsExecutor;
    this.hold = new FloorFrameHandler(state, null);
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    QueryStringDecoder q = new QueryStringDecoder(req.uri());
    String path = q.path();
    if (path.equals("/__floor__/stats")) {
      boolean gc = q.parameters().containsKey("gc");
      // A full GC takes a while: never on the event loop.
      CompletableFuture.supplyAsync(() -> stats(gc), statsExecutor)
          .whenCompleteAsync(
              (body, e) -> respond(ctx, HttpResponseStatus.OK, body), ctx.executor());
      return;
    }
    FloorFrameHandler frames = frameHandler(path);
    if (frames == null
        || !"websocket".equalsIgnoreCase(req.headers().get(HttpHeaderNames.UPGRADE))) {
      respond(ctx, HttpResponseStatus.NOT_FOUND, "{\"error\":\"not found\"}");
      return;
    }
    WebSocketServerHandshaker hs =
        new WebSocketServerHandshakerFactory(
                "ws://" + req.headers().get(HttpHeaderNames.HOST) + path, null, false, 65536)
            .newHandshaker(req);
    if (hs == null) {
      WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel());
      return;
    }
    Channel ch = ctx.channel();
    ctx.pipeline().addAfter(NAME, FRAMES, frames);
    ctx.pipeline().remove(this);
    hs.handshake(ch, req)
        .addListener(
            f -> {
              if (f.isSuccess()) {
                state.opened();
                ch.closeFuture().addListener(c -> state.closed());
                frames.upgraded(ch);
              } else {
                ch.close();
              }
            });
  }

  private FloorFrameHandler frameHandler(String path) {
    if (path.equals("/hold")) {
      return hold;
    }
    String[] parts = path.split("/");
    // "", "relay", channel, pub|pub-ack|sub
    if (parts.length == 4 && parts[1].equals("relay") && !parts[2].isEmpty()) {
      if (parts[3].equals("pub")) {
        return new FloorFrameHandler(state, state.subscribers(parts[2]));
      }
      if (parts[3].equals("pub-ack")) {
        return FloorFrameHandler.acknowledging(state, state.subscribers(parts[2]));
      }
      if (parts[3].equals("sub")) {
        return FloorFrameHandler.subscriber(state, state.subscribers(parts[2]));
      }
    }
    return null;
  }

  private String stats(boolean gc) {
    if (gc) {
      // Twice: the first collection may leave finalizable objects for the second.
      ManagementFactory.getMemoryMXBean().gc();
      ManagementFactory.getMemoryMXBean().gc();
    }
    long nioDirect =
        ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
            .filter(b -> b.getName().equals("direct"))
            .mapToLong(BufferPoolMXBean::getMemoryUsed)
            .sum();
    long nettyDirect = Math.max(0, PlatformDependent.usedDirectMemory());
    ObjectNode n = MAPPER.createObjectNode();
    n.put("connections", state.connections());
    n.put("frames_in", state.framesIn());
    n.put("frames_out", state.framesOut());
    n.put("heap_used", ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
    n.put("after_full_gc", gc);
    n.put("direct_used", nioDirect + nettyDirect);
    n.put("rss", ProcStatus.rssBytes(ProcessHandle.current().pid()));
    return n.toString();
  }

  private static void respond(ChannelHandlerContext ctx, HttpResponseStatus status, String body) {
    FullHttpResponse r =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            status,
            ByteBufUtil.writeUtf8(ctx.alloc(), body == null ? "{}" : body));
    r.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
        .setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes())
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
