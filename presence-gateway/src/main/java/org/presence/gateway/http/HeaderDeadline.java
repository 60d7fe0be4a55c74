package org.presence.gateway.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.connection.Backpressure;
import org.presence.gateway.connection.Connections;
import org.presence.gateway.connection.OnEventLoop;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.protocol.api.ErrorBody;
import org.presence.protocol.error.ErrorCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code http-header-deadline} handler: a request's header block (request line and headers)
 * must be complete within {@code gateway.http-header-timeout}, so that a client sending it a byte
 * at a time ("slowloris") or not at all holds a socket for that long, not for the idle timeout.
 *
 * <ul>
 *   <li>The connection's first request is timed from the accept, or on a TLS port from the end of
 *       the TLS handshake (which keeps Netty's own handshake timeout; a client that sends fewer
 *       bytes than a TLS record header is timed from the accept).
 *   <li>A later request on a kept-alive connection is timed from its first byte: between requests
 *       the connection waits for that byte up to {@code gateway.http-idle-timeout}, as nginx
 *       ({@code keepalive_timeout}, then {@code client_header_timeout}) and HAProxy ({@code timeout
 *       http-keep-alive}, then {@code timeout http-request}) do.
 *   <li>Once the header is complete, a request with a body ({@code Content-Length} over 0, or
 *       chunks) must have all of it within {@code gateway.http-body-timeout}, counted from the end
 *       of the header, else the same 408 (a body that stalls no longer holds its socket, and the
 *       part of the body read so far, until the idle timeout). A request refused on its header is
 *       not timed any more. The answer, a stream or a WebSocket have their own rules. Bytes that
 *       came with the previous request's (pipelined) start a deadline only when the next read
 *       comes.
 * </ul>
 *
 * When the deadline passes with part of a header read, the client gets {@code 408} with the JSON
 * error body ({@link ErrorCode#REQUEST_TIMEOUT}) and the connection ends as after any last answer
 * ({@link HttpClose}); with no byte of the first request read it is just closed.
 *
 * <p>It sits before the HTTP codec, so it sees each read (not each byte) of a connection still
 * speaking HTTP; the aggregator tells it where each request's header and end are ({@link
 * #headerDone}, {@link #requestDone}). A WebSocket upgrade or a stream removes it with the idle
 * timer. One check is scheduled at a time, per connection: a request whose deadline is later than
 * the pending check's moves it on when it runs, so kept-alive requests schedule no task each.
 */
@OnEventLoop
public final class HeaderDeadline extends ChannelInboundHandlerAdapter implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(HeaderDeadline.class);

  /** No byte of the connection's first request yet; timed from the accept or the TLS handshake. */
  private static final int FIRST = 0;

  /** Between requests: no deadline (the idle timer bounds the wait for the next request). */
  private static final int BETWEEN = 1;

  /** Part of a request's header has arrived; timed. */
  private static final int HEADER = 2;

  /** The header is complete, no body is awaited (or the request was refused): not timed here. */
  private static final int REQUEST = 3;

  /** The header is complete and the body is awaited; timed by the body timeout. */
  private static final int BODY = 4;

  private final long timeoutNanos;
  private final long bodyTimeoutNanos;
  private final GatewayMetrics metrics;

  private ChannelHandlerContext ctx;
  private int state = FIRST;

  /** When the current header must be complete, in the executor's ticker's nanoseconds. */
  private long deadline;

  /** The one pending check, or null. */
  private ScheduledFuture<?> check;

  /**
   * Whether the aggregator is checking the current request's header (reads paused): its body is not
   * timed meanwhile ({@link #checking}).
   */
  private boolean checking;

  /** The longest path {@link #getPath} keeps of a request line's start. */
  private static final int MAX_GET_PATH = 256;

  /**
   * The path (as sent, without its query) of the current request when its first read starts with
   * {@code GET /} and the path ends within {@value #MAX_GET_PATH} bytes of it; else null. The codec
   * refuses a request line over {@code limits.max-initial-line-bytes} without reading it or its
   * headers: the router asks for this to answer a browser's page with the error page.
   */
  private String getPath;

  /** A header deadline only: bodies are not timed. */
  public HeaderDeadline(long timeoutMillis, GatewayMetrics metrics) {
    this(timeoutMillis, 0, metrics);
  }

  /** Headers timed by {@code timeoutMillis}, bodies by {@code bodyTimeoutMillis} (0: not timed). */
  public HeaderDeadline(long timeoutMillis, long bodyTimeoutMillis, GatewayMetrics metrics) {
    this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    this.bodyTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(bodyTimeoutMillis);
    this.metrics = metrics;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    // An accepted connection is active when its pipeline is built.
    if (ctx.channel().isActive()) {
      start();
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    if (check == null && state == FIRST) {
      start();
    }
    ctx.fireChannelActive();
  }

  private void start() {
    start(timeoutNanos);
  }

  private void start(long nanos) {
    deadline = ctx.executor().ticker().nanoTime() + nanos;
    if (check != null && check.getDelay(TimeUnit.NANOSECONDS) > nanos) {
      // The pending check comes after this deadline (a body timeout shorter than what is left of
      // the header's): moved earlier.
      check.cancel(false);
      check = null;
    }
    if (check == null) {
      check = ctx.executor().schedule(this, nanos, TimeUnit.NANOSECONDS);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (state == BETWEEN) {
      state = HEADER;
      getPath = getPath(msg);
      start();
    } else if (state == FIRST) {
      state = HEADER;
      getPath = getPath(msg);
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof SslHandshakeCompletionEvent done && done.isSuccess() && state == FIRST) {
      // The first request's time starts once the TLS handshake is done.
      start();
    }
    ctx.fireUserEventTriggered(evt);
  }

  /**
   * The aggregator got a request's header: the header deadline no longer applies to it; its body,
   * if {@code withBody}, is timed from now.
   */
  void headerDone(boolean withBody) {
    if (withBody && bodyTimeoutNanos > 0) {
      state = BODY;
      start(bodyTimeoutNanos);
    } else {
      state = REQUEST;
    }
  }

  /**
   * The aggregator checks the current request's header with the connection's reads paused ({@code
   * on}), or has its answer: the body is not timed while the node itself holds it back, and its
   * time starts afresh once the check ends (a slow store must not cost the client its body's time).
   */
  void checking(boolean on) {
    checking = on;
    if (!on && state == BODY && bodyTimeoutNanos > 0) {
      start(bodyTimeoutNanos);
    }
  }

  /** The aggregator refused the request before its body: nothing is timed any more. */
  void refused() {
    state = REQUEST;
  }

  /**
   * The path of the current request if it is a {@code GET} whose path came whole in its first read
   * (at most {@value #MAX_GET_PATH} bytes), else null: what the router knows of a request line the
   * codec refused as too long. Bytes that came with the previous (pipelined) request's are not
   * looked at.
   */
  String getPath() {
    return getPath;
  }

  private static String getPath(Object msg) {
    if (!(msg instanceof ByteBuf b) || b.readableBytes() < 6) {
      return null;
    }
    int from = b.readerIndex();
    if (b.getByte(from) != 'G'
        || b.getByte(from + 1) != 'E'
        || b.getByte(from + 2) != 'T'
        || b.getByte(from + 3) != ' '
        || b.getByte(from + 4) != '/') {
      return null;
    }
    int end = Math.min(b.readableBytes(), 4 + MAX_GET_PATH);
    for (int i = 5; i < end; i++) {
      byte c = b.getByte(from + i);
      if (c == ' ' || c == '?') {
        return b.toString(from + 4, i - 4, java.nio.charset.StandardCharsets.US_ASCII);
      }
      if (c < 0x21 || c > 0x7e) {
        return null;
      }
    }
    return null;
  }

  /** The aggregator got a request's last byte: the next read starts the next header. */
  void requestDone() {
    state = BETWEEN;
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    if (check != null) {
      check.cancel(false);
      check = null;
    }
  }

  /** The pending check: on the channel's event loop. */
  @Override
  public void run() {
    check = null;
    Channel ch = ctx.channel();
    if ((state != FIRST && state != HEADER && state != BODY)
        || !ch.isActive()
        || ctx.isRemoved()
        || Backpressure.isClosing(ch)) {
      return;
    }
    long left = deadline - ctx.executor().ticker().nanoTime();
    if (left > 0) {
      check = ctx.executor().schedule(this, left, TimeUnit.NANOSECONDS);
      return;
    }
    if (state == FIRST) {
      SslHandler tls = ch.pipeline().get(SslHandler.class);
      if (tls != null && !tls.handshakeFuture().isDone()) {
        // The handshake has its own timeout; the deadline starts again when it is done.
        return;
      }
      LOG.debug("no request within the header timeout on {}: closed", ch);
      ch.close();
      return;
    }
    boolean body = state == BODY;
    if (body && checking) {
      // The node holds the body back while it checks the header: timed once the check ends.
      start(bodyTimeoutNanos);
      return;
    }
    if (Connections.isBusy(ch)) {
      // A request sent earlier (pipelined) is still being answered, with reads paused: its answer
      // goes first, and this header (or body) gets its time again from now.
      start(body ? bodyTimeoutNanos : timeoutNanos);
      return;
    }
    state = REQUEST;
    LOG.debug(
        "request {} not complete within its timeout on {}: 408", body ? "body" : "header", ch);
    metrics.error(ErrorCode.REQUEST_TIMEOUT);
    metrics.httpResponse(ErrorCode.REQUEST_TIMEOUT.httpStatus());
    // Written before the HTTP codec, as bytes: no request was decoded for the encoder to answer
    // (or, for a body, its request was not handed on). What was read of the body is released as
    // the connection closes.
    HttpClose.after(
        ctx.writeAndFlush(timedOut(ctx, body ? "body incomplete" : "header incomplete")));
  }

  /** The 408 with the JSON error body, and {@code Connection: close}. */
  private static ByteBuf timedOut(ChannelHandlerContext ctx, String detail) {
    ByteBuf body = ctx.alloc().buffer(128);
    try {
      ErrorBody.write(
          ErrorCode.REQUEST_TIMEOUT, ErrorCode.REQUEST_TIMEOUT.reasonWith(detail), body);
      String head =
          "HTTP/1.1 408 Request Timeout\r\n"
              + "Content-Type: application/json; charset=utf-8\r\n"
              + "Content-Length: "
              + body.readableBytes()
              + "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff"
              + "\r\nConnection: close\r\n\r\n";
      ByteBuf response = ctx.alloc().buffer(head.length() + body.readableBytes());
      ByteBufUtil.writeAscii(response, head);
      response.writeBytes(body);
      return response;
    } finally {
      body.release();
    }
  }
}
