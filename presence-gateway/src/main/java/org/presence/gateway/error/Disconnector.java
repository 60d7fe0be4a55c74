package org.presence.gateway.error;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.util.AttributeKey;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.net.ClientAddress;
import org.presence.gateway.routing.Connections;
import org.presence.protocol.api.ErrorBody;
import org.presence.protocol.error.ErrorCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends connections, always the same way: on a WebSocket, the error frame ({@code {"result":
 * false, "errno": N, "reason": ...}}) then a close frame with the code's close code, then the
 * socket closes once both are flushed (or after a short grace if the peer does not read). Logs
 * once and counts once per connection, whatever path led here; the log names the client ({@link
 * ClientAddress}: behind a trusted proxy, the forwarded address and the proxy).
 */
public final class Disconnector {
  private static final Logger LOG = LoggerFactory.getLogger(Disconnector.class);
  private static final AttributeKey<Boolean> CLOSING = AttributeKey.valueOf("presence.closing");

  /** How long a closing socket waits for its last frames to flush before it is cut. */
  private static final long FLUSH_GRACE_MS = 1000;

  private final GatewayMetrics metrics;

  public Disconnector(GatewayMetrics metrics) {
    this.metrics = metrics;
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
    ch.writeAndFlush(new CloseWebSocketFrame(code.closeCode(), reason))
        .addListener(ChannelFutureListener.CLOSE);
    // A peer that stopped reading would keep the flush (and the socket) pending for ever.
    ch.eventLoop().schedule(() -> ch.close(), FLUSH_GRACE_MS, TimeUnit.MILLISECONDS);
  }

  /** Whether {@link #close} has been called for {@code ch}. */
  public static boolean closing(Channel ch) {
    return ch.hasAttr(CLOSING) && Boolean.TRUE.equals(ch.attr(CLOSING).get());
  }
}
