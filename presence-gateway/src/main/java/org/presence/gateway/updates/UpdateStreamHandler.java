package org.presence.gateway.updates;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.presence.gateway.config.UpdatesConfig;
import org.presence.gateway.connection.Backpressure;
import org.presence.gateway.connection.Connections;
import org.presence.gateway.connection.PipelineNames;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpHandler;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.protocol.app.AppCodec;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * The stream, {@code GET /<appid>/presence.json} (seed 001's stream API): the update channel's
 * frames, one JSON document per line ({@code application/x-ndjson}), over one long-held chunked
 * response. The key comes as {@code Authorization: Bearer <API key>} and {@code since} as a query
 * parameter; errors before the stream starts are ordinary JSON error answers with the code's HTTP
 * status. The response is held until the client leaves or the node drains (which ends it with the
 * last chunk); an empty line goes out after every silent {@link UpdatesConfig#pingInterval()}.
 *
 * <p>Once streaming, the connection carries nothing else: the HTTP router, the idle timer and the
 * flow control leave the pipeline, and anything the client sends is read and dropped (so that its
 * leaving is noticed).
 *
 * <p>The demo page uses the same machinery as server-sent events ({@code text/event-stream}, one
 * {@code data:} event per frame), authenticated by its page session instead of a key.
 */
final class UpdateStreamHandler implements HttpHandler {
  /** The route. */
  static final String PATH = "/{appid:[0-9]+}/presence.json";

  private static final String NDJSON = "application/x-ndjson; charset=utf-8";
  private static final String EVENTS = "text/event-stream; charset=utf-8";

  private final AppUpdates updates;
  private final UpdatesConfig config;
  private final Connections connections;
  private final GatewayMetrics metrics;

  UpdateStreamHandler(
      AppUpdates updates,
      UpdatesConfig config,
      Connections connections,
      GatewayMetrics metrics,
      ScheduledExecutorService timers) {
    this.updates = updates;
    this.config = config;
    this.connections = connections;
    this.metrics = metrics;
  }

  @Override
  public void handle(HttpExchange ex) {
    long appId = UpdateSessionHandler.parseAppId(ex.param("appid"));
    String auth = ex.header(HttpHeaderNames.AUTHORIZATION);
    if (auth == null || !auth.regionMatches(true, 0, "Bearer ", 0, 7) || auth.length() == 7) {
      ex.error(
          ErrorCode.UNAUTHORIZED,
          "Authorization: Bearer <API key>",
          h -> h.set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer"));
      return;
    }
    String key = auth.substring(7).trim();
    long since = ex.query("since").map(AppCodec::parseSince).orElse(-1L);
    boolean http11 = ex.http11();
    updates
        .admit(appId, key, since)
        .whenCompleteAsync(
            (a, e) -> {
              if (e != null) {
                ex.error(e);
                return;
              }
              if (!ex.channel().isActive()) {
                a.release();
                return;
              }
              takeOver(ex, a, null, false, http11);
            },
            ex.channel().eventLoop());
  }

  /** The demo page's event stream (see {@link AppUpdates#followAsEventStream}). */
  void serveEvents(HttpExchange ex, long appId, Predicate<String> puids) {
    boolean http11 = ex.http11();
    updates
        .admitInternal(appId)
        .whenCompleteAsync(
            (a, e) -> {
              if (e != null) {
                ex.error(
                    e instanceof ProtocolException
                        ? e
                        : new ProtocolException(ErrorCode.SERVER_BUSY, null, e));
                return;
              }
              if (!ex.channel().isActive()) {
                a.release();
                return;
              }
              takeOver(ex, a, puids, true, http11);
            },
            ex.channel().eventLoop());
  }

  private void takeOver(
      HttpExchange ex,
      AppUpdates.Admission a,
      Predicate<String> puids,
      boolean events,
      boolean http11) {
    Channel ch = ex.channel();
    ChannelPipeline p = ch.pipeline();
    StreamSession session = new StreamSession(a, events);
    if (config.socketSendBuffer() > 0) {
      ch.config().setOption(ChannelOption.SO_SNDBUF, config.socketSendBuffer());
    }
    // The response is the connection's last: no other request is routed or answered on it.
    if (p.get(PipelineNames.HTTP_IDLE) != null) {
      p.remove(PipelineNames.HTTP_IDLE);
    }
    if (p.get(PipelineNames.HTTP_HEADER_DEADLINE) != null) {
      p.remove(PipelineNames.HTTP_HEADER_DEADLINE);
    }
    if (p.get(PipelineNames.FLOW_CONTROL) != null) {
      p.remove(PipelineNames.FLOW_CONTROL);
    }
    p.replace(PipelineNames.HTTP_ROUTER, PipelineNames.UPDATE_STREAM, session);
    HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    head.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, events ? EVENTS : NDJSON)
        .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE)
        .set("X-Content-Type-Options", "nosniff")
        .set("X-Accel-Buffering", "no");
    if (http11) {
      head.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
    } else {
      head.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    metrics.httpResponse(200);
    session.ctx.writeAndFlush(head, session.ctx.voidPromise());
    connections.upgraded(ch, Connections.Kind.STREAM, c -> session.end());
    Connections.authenticated(ch);
    Connections.busy(ch, false);
    session.consumer = a.start(session, puids);
    Backpressure.resume(ch, Backpressure.BUSY);
  }

  /** The stream's handler in place of the router, and its consumer's sink. */
  private final class StreamSession extends ChannelInboundHandlerAdapter
      implements UpdateConsumer.Sink {
    private final AppUpdates.Admission admission;
    private final boolean events;
    ChannelHandlerContext ctx;
    UpdateConsumer consumer;
    private ScheduledFuture<?> heartbeat;
    private boolean wroteSinceBeat;
    private boolean ended;

    StreamSession(AppUpdates.Admission admission, boolean events) {
      this.admission = admission;
      this.events = events;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      this.ctx = ctx;
      long every = config.pingInterval().toMillis();
      heartbeat =
          ctx.executor().scheduleWithFixedDelay(this::beat, every, every, TimeUnit.MILLISECONDS);
    }

    private void beat() {
      if (!wroteSinceBeat && !ended && ctx.channel().isWritable()) {
        ByteBuf nl =
            Unpooled.wrappedBuffer(
                events ? ":\n\n".getBytes(StandardCharsets.US_ASCII) : new byte[] {'\n'});
        ctx.writeAndFlush(new DefaultHttpContent(nl), ctx.voidPromise());
      }
      wroteSinceBeat = false;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      // The client has nothing to say on a stream; reading keeps its leaving noticed.
      ReferenceCountUtil.release(msg);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (ctx.channel().isWritable() && consumer != null) {
        consumer.pump();
      }
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      ended = true;
      heartbeat.cancel(false);
      if (consumer != null) {
        consumer.close();
      }
      admission.release();
      ctx.fireChannelInactive();
    }

    /** Ends the response (the node drains). */
    void end() {
      if (ended) {
        return;
      }
      ended = true;
      ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT)
          .addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public EventExecutor executor() {
      return ctx.executor();
    }

    @Override
    public ByteBufAllocator alloc() {
      return ctx.alloc();
    }

    @Override
    public boolean writable() {
      return !ended && ctx.channel().isWritable();
    }

    @Override
    public void send(ByteBuf frame) {
      ByteBuf out = frame;
      if (events) {
        ByteBuf prefix = Unpooled.wrappedBuffer("data: ".getBytes(StandardCharsets.US_ASCII));
        ByteBuf suffix = Unpooled.wrappedBuffer("\n\n".getBytes(StandardCharsets.US_ASCII));
        out = ctx.alloc().compositeBuffer(3).addComponents(true, prefix, frame, suffix);
      } else {
        frame.writeByte('\n');
      }
      wroteSinceBeat = true;
      metrics.framesOut(Connections.Kind.STREAM.label()).inc();
      ctx.write(new DefaultHttpContent(out), ctx.voidPromise());
    }

    @Override
    public void flush() {
      ctx.flush();
    }

    @Override
    public long pendingBytes() {
      var out = ctx.channel().unsafe().outboundBuffer();
      return out == null ? 0 : out.totalPendingWriteBytes();
    }

    @Override
    public void fail(ErrorCode code, String detail) {
      metrics.error(code);
      ended = true;
      // Mid-stream there is no status left to answer with: end the response and the connection.
      ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT)
          .addListener(ChannelFutureListener.CLOSE);
    }
  }
}
