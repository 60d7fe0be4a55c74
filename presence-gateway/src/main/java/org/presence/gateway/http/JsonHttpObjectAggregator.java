package org.presence.gateway.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.connection.PipelineNames;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.protocol.api.ErrorBody;
import org.presence.protocol.error.ErrorCode;

/**
 * Netty's aggregator, answering an oversized request with the documented JSON error (413, errno
 * {@link ErrorCode#PAYLOAD_TOO_LARGE}) instead of an empty body, then ending the connection: the
 * rest of the body is not worth keeping. The same for a request whose {@code Expect} it does not
 * serve (417, errno {@link ErrorCode#BAD_REQUEST}) and for one that expects {@code 100-continue}
 * with a body over the limit: Netty answers those with an empty body on a connection it keeps, and
 * reads the body that follows as the next request, a way to smuggle one. The end is a half-close:
 * the answer and a FIN go out, and what the client is still sending is read and dropped until it
 * closes, at most {@link #CLOSE_LINGER_MS} — closing at once with unread bytes would make the
 * kernel reset the connection, and a client still sending could then lose the answer before it read
 * it.
 *
 * <p>Routes may set their own body limit (the notification batches do). The aggregator's own limit
 * is the largest of them; a request announcing a {@code Content-Length} over its route's limit is
 * refused here before its body is read, and a chunked body (or one without a length) is counted as
 * it arrives and refused as soon as it passes its route's limit, so no more than the route's limit
 * is ever held for it.
 */
public final class JsonHttpObjectAggregator extends HttpObjectAggregator {
  /** How long a refused oversized request's connection keeps dropping what arrives. */
  static final long CLOSE_LINGER_MS = 2000;

  private final GatewayMetrics metrics;
  private final HttpRoutes routes;
  private final int defaultLimit;

  /** An aggregator with one limit for every request. */
  public JsonHttpObjectAggregator(int maxContentLength, GatewayMetrics metrics) {
    this(maxContentLength, metrics, null);
  }

  /**
   * An aggregator with {@code defaultLimit} for most requests and the route's own limit for routes
   * of {@code routes} that set one.
   */
  public JsonHttpObjectAggregator(int defaultLimit, GatewayMetrics metrics, HttpRoutes routes) {
    super(routes == null ? defaultLimit : Math.max(defaultLimit, routes.largestBodyLimit()));
    this.metrics = metrics;
    this.routes = routes;
    this.defaultLimit = defaultLimit;
  }

  /** The request being aggregated, or null. */
  private HttpMessage current;

  /** Its route's body limit. */
  private int currentLimit;

  /** Body bytes received for it so far. */
  private long received;

  /**
   * Whether the connection was refused (413, 417, too far ahead): whatever else arrives is dropped.
   */
  private boolean refused;

  /**
   * Requests a client may send ahead of the one being answered. Netty's codec fails the connection,
   * silently, past 128; before that, the next request is answered (in its turn) with errno 100 and
   * the connection closes.
   */
  public static final int MAX_AHEAD = 100;

  /** The depth the HTTP codec is built with: above what a refused connection can still decode. */
  public static final int CODEC_PIPELINE_DEPTH = 8192;

  /** Requests handed on and not yet taken by the router ({@link #routed}): waiting their turn. */
  private int ahead;

  /**
   * The failure of the request that came {@link #MAX_AHEAD} requests ahead of its answers: the
   * router answers it in its turn, 400 with errno 100, and the connection closes.
   */
  public static final class TooFarAhead extends RuntimeException {
    private static final long serialVersionUID = 1L;

    TooFarAhead() {
      super("more than " + MAX_AHEAD + " requests sent ahead of their answers", null, false, false);
    }
  }

  /** The router took a request of {@code ch} to answer it. */
  public static void routed(Channel ch) {
    if (ch.pipeline().get(PipelineNames.HTTP_AGGREGATOR) instanceof JsonHttpObjectAggregator a) {
      a.ahead--;
    }
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, HttpObject msg, List<Object> out)
      throws Exception {
    if (refused) {
      // A refusal is on its way and the connection closes after it (the input is released).
      return;
    }
    if (msg instanceof HttpMessage start && !(msg instanceof HttpContent)) {
      if (start instanceof HttpRequest request && ++ahead > MAX_AHEAD) {
        // In the requests' order (the router answers the ones before it first), then the
        // connection closes; what arrives meanwhile is dropped. (Reads go on: the router's
        // flow control takes the waiting requests one read at a time. A client that keeps
        // sending meanwhile fills the codec's queue, CODEC_PIPELINE_DEPTH, and is cut off.)
        refused = true;
        current = null;
        DefaultFullHttpRequest failed =
            new DefaultFullHttpRequest(
                request.protocolVersion(), request.method(), request.uri(), Unpooled.EMPTY_BUFFER);
        failed.headers().set(request.headers());
        failed.setDecoderResult(DecoderResult.failure(new TooFarAhead()));
        out.add(failed);
        return;
      }
      current = start;
      currentLimit = limitOf(start);
      received = 0;
      if (start.decoderResult().isFailure()) {
        // A request the codec could not parse (its Content-Length, for one, may not be a number)
        // goes on to the router, which answers it 400 and closes; no 100 Continue first.
        start.headers().remove(HttpHeaderNames.EXPECT);
        super.decode(ctx, msg, out);
        return;
      }
      if (start instanceof HttpRequest && unservedExpectation(start)) {
        // Netty would answer 417 with an empty body, keep the connection, and have the decoder
        // read the body that follows as the next request (a client ignoring the 417, or one
        // smuggling a request past a proxy that forwarded the body): refused and closed instead.
        current = null;
        refuse(
            ctx,
            HttpResponseStatus.EXPECTATION_FAILED,
            ErrorCode.BAD_REQUEST,
            "the only expectation served is 100-continue");
        return;
      }
      if (start instanceof HttpRequest
          && HttpUtil.is100ContinueExpected(start)
          && HttpUtil.getContentLength(start, -1L) > currentLimit) {
        // The same for a body announced over the limit that waits for 100 Continue: 413 with the
        // reason, and the body, sent or not, is never read as requests.
        current = null;
        handleOversizedMessage(ctx, start);
        return;
      }
    } else if (msg instanceof HttpContent content
        && !(msg instanceof HttpMessage)
        && current != null) {
      received += content.content().readableBytes();
      if (received > currentLimit) {
        refused = true;
        releaseCurrentMessage();
        handleOversizedMessage(ctx, current);
        current = null;
        return;
      }
      if (msg instanceof LastHttpContent) {
        current = null;
      }
    }
    super.decode(ctx, msg, out);
  }

  /** Whether {@code start} (HTTP/1.1) expects something other than {@code 100-continue}. */
  private static boolean unservedExpectation(HttpMessage start) {
    String expect = start.headers().get(HttpHeaderNames.EXPECT);
    return expect != null
        && start.protocolVersion().compareTo(HttpVersion.HTTP_1_1) >= 0
        && !HttpHeaderValues.CONTINUE.contentEqualsIgnoreCase(expect);
  }

  /** The body limit of {@code message}'s route. */
  private int limitOf(HttpMessage message) {
    if (routes == null || !(message instanceof HttpRequest request)) {
      return defaultLimit;
    }
    return routes.bodyLimit(
        request.method(), new QueryStringDecoder(request.uri()).rawPath(), defaultLimit);
  }

  @Override
  protected boolean isContentLengthInvalid(HttpMessage start, int maxContentLength) {
    return super.isContentLengthInvalid(start, Math.min(maxContentLength, limitOf(start)));
  }

  @Override
  protected Object newContinueResponse(
      HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
    return super.newContinueResponse(start, Math.min(maxContentLength, limitOf(start)), pipeline);
  }

  @Override
  protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
    ErrorCode code = ErrorCode.PAYLOAD_TOO_LARGE;
    refuse(
        ctx,
        HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
        code,
        "limit is " + Math.min(maxContentLength(), limitOf(oversized)) + " bytes");
  }

  /**
   * Answers with {@code status} and the JSON error body of {@code code}, then ends the connection
   * (a half-close, see the class comment); whatever else arrives on it is dropped.
   */
  private void refuse(
      ChannelHandlerContext ctx, HttpResponseStatus status, ErrorCode code, String detail) {
    refused = true;
    metrics.error(code);
    metrics.httpResponse(status.code());
    ByteBuf body = ctx.alloc().buffer(96);
    ErrorBody.write(code, code.reasonWith(detail), body);
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpExchange.JSON);
    response.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
    response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    ctx.writeAndFlush(response)
        .addListener(
            f -> {
              if (!f.isSuccess() || !(ctx.channel() instanceof DuplexChannel duplex)) {
                ctx.close();
                return;
              }
              duplex
                  .shutdownOutput()
                  .addListener(
                      done -> {
                        if (!done.isSuccess()) {
                          ctx.close();
                        }
                      });
              ctx.executor().schedule(() -> ctx.close(), CLOSE_LINGER_MS, TimeUnit.MILLISECONDS);
            });
  }
}
