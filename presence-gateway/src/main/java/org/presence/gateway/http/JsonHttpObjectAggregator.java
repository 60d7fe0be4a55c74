package org.presence.gateway.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.protocol.api.ErrorBody;
import org.presence.protocol.error.ErrorCode;

/**
 * Netty's aggregator, answering an oversized request with the documented JSON error (413, errno
 * {@link ErrorCode#PAYLOAD_TOO_LARGE}) instead of an empty body, then closing: the rest of the
 * body is not worth reading.
 *
 * <p>Routes may set their own body limit (the notification batches do). The aggregator's own
 * limit is the largest of them; a request announcing a {@code Content-Length} over its route's
 * limit is refused here before its body is read, and a chunked body over it is refused by the
 * router once aggregated ({@link HttpRouter}).
 */
public final class JsonHttpObjectAggregator extends HttpObjectAggregator {
  private final GatewayMetrics metrics;
  private final HttpRoutes routes;
  private final int defaultLimit;

  /** An aggregator with one limit for every request. */
  public JsonHttpObjectAggregator(int maxContentLength, GatewayMetrics metrics) {
    this(maxContentLength, metrics, null);
  }

  /**
   * An aggregator with {@code defaultLimit} for most requests and the route's own limit for
   * routes of {@code routes} that set one.
   */
  public JsonHttpObjectAggregator(int defaultLimit, GatewayMetrics metrics, HttpRoutes routes) {
    super(routes == null ? defaultLimit : Math.max(defaultLimit, routes.largestBodyLimit()));
    this.metrics = metrics;
    this.routes = routes;
    this.defaultLimit = defaultLimit;
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
    return super.newContinueResponse(
        start, Math.min(maxContentLength, limitOf(start)), pipeline);
  }

  @Override
  protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
    ErrorCode code = ErrorCode.PAYLOAD_TOO_LARGE;
    metrics.error(code);
    metrics.httpResponse(code.httpStatus());
    ByteBuf body = ctx.alloc().buffer(96);
    ErrorBody.write(
        code,
        code.reasonWith("limit is " + Math.min(maxContentLength(), limitOf(oversized)) + " bytes"),
        body);
    FullHttpResponse response =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, body);
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpExchange.JSON);
    response.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
    response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
  }
}
