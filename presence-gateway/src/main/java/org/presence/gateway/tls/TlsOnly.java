package org.presence.gateway.tls;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.OptionalSslHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import org.presence.protocol.api.ErrorBody;
import org.presence.protocol.error.ErrorCode;

/**
 * The first handler of a TLS port's connection: it looks at the first bytes, and a TLS record gets
 * the node's {@link io.netty.handler.ssl.SslHandler} in its place (current certificate). Anything
 * else — plain HTTP sent to the TLS port — is answered once in clear text, {@code 400} with the
 * JSON error body (errno 100, "this port speaks TLS only: use https:// or wss://"), and the
 * connection closed; what the client still sends is dropped.
 */
final class TlsOnly extends OptionalSslHandler {
  static final String REASON = "this port speaks TLS only: use https:// or wss://";

  private final NodeTls tls;
  private final String name;

  TlsOnly(NodeTls tls, SslContext current, String name) {
    super(current);
    this.tls = tls;
    this.name = name;
  }

  @Override
  protected String newSslHandlerName() {
    return name;
  }

  @Override
  protected io.netty.handler.ssl.SslHandler newSslHandler(
      ChannelHandlerContext context, SslContext sslContext) {
    return tls.newHandler(context.alloc());
  }

  @Override
  protected ChannelHandler newNonSslHandler(ChannelHandlerContext context) {
    return new Refusal();
  }

  @Override
  protected String newNonSslHandlerName() {
    return name;
  }

  /** Answers the first bytes with the 400 and closes; drops the rest. */
  private static final class Refusal extends ChannelInboundHandlerAdapter {
    private boolean answered;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ReferenceCountUtil.release(msg);
      if (answered) {
        return;
      }
      answered = true;
      ByteBuf body = ctx.alloc().buffer(96);
      ByteBuf response = null;
      try {
        ErrorBody.write(ErrorCode.BAD_REQUEST, REASON, body);
        String head =
            "HTTP/1.1 400 Bad Request\r\n"
                + "Content-Type: application/json; charset=utf-8\r\n"
                + "Content-Length: "
                + body.readableBytes()
                + "\r\nConnection: close\r\n\r\n";
        response = ctx.alloc().buffer(head.length() + body.readableBytes());
        ByteBufUtil.writeAscii(response, head);
        response.writeBytes(body);
      } finally {
        body.release();
      }
      ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }
  }
}
