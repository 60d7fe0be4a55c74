package org.presence.gateway.error;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.connection.Backpressure;
import org.presence.gateway.connection.Connections;
import org.presence.gateway.connection.PipelineNames;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.net.ClientAddress;
import org.presence.protocol.api.ErrorBody;
import org.presence.protocol.error.ErrorCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends connections, always the same way: on a WebSocket, the error frame ({@code {"result": false,
 * "errno": N, "reason": ...}}) then a close frame with the code's close code. The socket then stops
 * handling frames but keeps reading: everything the client still sends is dropped (pings are not
 * answered) until the client's close frame, when the socket closes, or until the close linger
 * ({@code gateway.close-linger}) ends, when it is cut. Closing a socket with unread input would
 * make the kernel answer with a reset, and a client that was still sending would lose the error
 * frame and the close code it had not read yet.
 *
 * <p>Logs once and counts once per connection, whatever path led here; the log names the client
 * ({@link ClientAddress}: behind a trusted proxy, the forwarded address and the proxy).
 */
public final class Disconnector {
  private static final Logger LOG = LoggerFactory.getLogger(Disconnector.class);
  private static final AttributeKey<Boolean> CLOSING = AttributeKey.valueOf("presence.closing");

  /** The close linger when none is configured. */
  public static final Duration DEFAULT_LINGER = Duration.ofSeconds(2);

  private final GatewayMetrics metrics;
  private final long lingerMillis;

  public Disconnector(GatewayMetrics metrics) {
    this(metrics, DEFAULT_LINGER);
  }

  /**
   * @param linger how long a closing WebSocket waits for the client's close frame (reading and
   *     dropping what else comes) before it is cut
   */
  public Disconnector(GatewayMetrics metrics, Duration linger) {
    this.metrics = metrics;
    this.lingerMillis = Math.max(1, linger.toMillis());
  }

  /** Closes {@code ch} with {@code code}; a second call for the same channel does nothing. */
  public void close(Channel ch, ErrorCode code, String detail) {
    if (!ch.eventLoop().inEventLoop()) {
      ch.eventLoop().execute(() -> close(ch, code, detail));
      return;
    }
    if (ch.attr(CLOSING).setIfAbsent(Boolean.TRUE) != null) {
      return;
    }
    metrics.error(code);
    if (code == ErrorCode.SERVER_SHUTTING_DOWN || code.retryable()) {
      if (LOG.isDebugEnabled()) {
        LOG.debug(
            "closing {} from {}: {} {}",
            ch.id(),
            ClientAddress.describe(ch),
            code,
            detail == null ? "" : detail);
      }
    } else if (LOG.isInfoEnabled()) {
      LOG.info("closing {}: {} {}", ClientAddress.describe(ch), code, detail == null ? "" : detail);
    }
    if (!ch.isActive()) {
      ch.close();
      return;
    }
    if (Connections.kindOf(ch) == Connections.Kind.HTTP
        || Connections.kindOf(ch) == Connections.Kind.STREAM) {
      ch.close();
      return;
    }
    String reason = code.reasonWith(detail);
    ByteBuf body = ch.alloc().buffer(96);
    ErrorBody.write(code, reason, body);
    metrics.framesOut(Connections.kindOf(ch).label()).inc();
    ch.write(new TextWebSocketFrame(body));
    ChannelFuture sent = ch.writeAndFlush(new CloseWebSocketFrame(code.closeCode(), reason));
    ChannelPipeline p = ch.pipeline();
    Lingers decoding = p.get(Lingers.class);
    if (p.get(PipelineNames.WS_DECODER) != null) {
      // Frames still arriving go no further than the decoder: they are dropped, up to the
      // client's close frame.
      p.addAfter(PipelineNames.WS_DECODER, PipelineNames.CLOSING, Lingering.INSTANCE);
      Backpressure.closing(ch);
    } else if (decoding != null && decoding.decodesFrames()) {
      // A handler that decodes frames itself drops them from now on, up to the client's close.
      Backpressure.closing(ch);
    } else {
      // Nothing decodes frames here (a test's channel): close once the frames are out.
      sent.addListener(ChannelFutureListener.CLOSE);
    }
    // A peer that neither reads nor answers would keep the socket for ever.
    ch.eventLoop().schedule(() -> ch.close(), lingerMillis, TimeUnit.MILLISECONDS);
  }

  /**
   * A WebSocket's last handler that decodes the frames itself (there is no {@code wsdecoder} to put
   * {@link Lingering} after): once {@link Backpressure#closing} is called for its channel, it does
   * what {@link Lingering} does, dropping every frame and closing the socket at the client's close
   * frame.
   */
  public interface Lingers extends ChannelHandler {
    /** Whether it decodes its channel's frames now (else a {@code wsdecoder}, or nothing, does). */
    boolean decodesFrames();
  }

  /**
   * Sits right after the WebSocket decoder of a socket being closed: drops every frame, and closes
   * the socket at the client's close frame (the node's close frame went out already).
   */
  @Sharable
  private static final class Lingering extends ChannelInboundHandlerAdapter {
    static final Lingering INSTANCE = new Lingering();

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      boolean close = msg instanceof CloseWebSocketFrame;
      ReferenceCountUtil.release(msg);
      if (close) {
        ctx.close();
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // The error was answered already; a broken frame now only waits for the linger to end.
      if (cause instanceof IOException) {
        LOG.debug("I/O error on closing {}: {}", ctx.channel(), cause.toString());
        ctx.close();
      }
    }
  }

  /** Whether {@link #close} has been called for {@code ch}. */
  public static boolean closing(Channel ch) {
    return ch.hasAttr(CLOSING) && Boolean.TRUE.equals(ch.attr(CLOSING).get());
  }
}
