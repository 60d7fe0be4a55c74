package org.presence.gateway.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.protocol.api.ErrorBody;
import org.presence.protocol.error.ErrorCode;

/**
 * Netty's aggregator, answering an oversized request with the documented JSON error (413, errno
 * {@link ErrorCode#PAYLOAD_TOO_LARGE}) instead of an empty body, then closing: the rest of the
 * body is not worth reading.
 */
public final class JsonHttpObjectAggregator extends HttpObjectAggregator {
  private final GatewayMetrics metrics;

  public JsonHttpObjectAggregator(int maxContentLength, GatewayMetrics metrics) {
    super(maxContentLength);
    this.metrics = metrics;
  }

  @Override
  protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
    ErrorCode code = ErrorCode.PAYLOAD_TOO_LARGE;
    metrics.error(code);
    metrics.httpResponse(code.httpStatus());
    ByteBuf body = ctx.alloc().buffer(96);
    ErrorBody.write(code, code.reasonWith("limit is " + maxContentLength() + " bytes"), body);
    FullHttpResponse response =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, body);
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpExchange.JSON);
    response.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
    response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
  }
}
