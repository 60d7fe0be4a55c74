package org.presence.gateway.error;

import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import javax.net.ssl.SSLException;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.error.RateLimitedLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last handler of every pipeline. Expected I/O errors (reset, broken pipe, closed channel) are
 * logged at DEBUG; WebSocket protocol violations and protocol errors go to the {@link Disconnector}
 * with their errno; input the client got wrong (undecodable bytes, a request cut short) is logged
 * at DEBUG without a stack trace and the connection closed; anything else is a bug, logged at
 * ERROR, and the connection is closed without a stack trace reaching the client; running out of
 * memory (direct buffers, under a flood) is logged at ERROR once a minute with a count, not once
 * per connection. Messages nobody consumed are released here.
 */
@Sharable
public final class ExceptionHandler extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(ExceptionHandler.class);

  private final Disconnector disconnector;

  /** The out-of-memory failures' line: once a minute, with a count of those left out. */
  private final RateLimitedLog outOfMemory = new RateLimitedLog(LOG, Duration.ofMinutes(1));

  public ExceptionHandler(Disconnector disconnector) {
    this.disconnector = disconnector;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    LOG.debug("unhandled message {} on {}", msg.getClass().getSimpleName(), ctx.channel());
    ReferenceCountUtil.release(msg);
  }

  /** What a decoder threw: the cause of a {@link DecoderException}, or {@code cause} itself. */
  public static Throwable unwrap(Throwable cause) {
    return cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
  }

  /**
   * The errno of a WebSocket protocol violation: {@code FRAME_TOO_LARGE} for a message over the
   * limit, {@code INVALID_UTF8} (close 1007, RFC 6455 §8.1) for text that is not UTF-8 (Netty's
   * UTF-8 check), {@code HANDSHAKE_FAILED} for any other (a broken frame, a close code no peer may
   * send).
   */
  public static ErrorCode violationCode(CorruptedWebSocketFrameException ws) {
    if (tooLarge(ws)) {
      return ErrorCode.FRAME_TOO_LARGE;
    }
    return notUtf8(ws) ? ErrorCode.INVALID_UTF8 : ErrorCode.HANDSHAKE_FAILED;
  }

  /** Whether {@code ws} is text that is not UTF-8 (Netty's check says 1007). */
  public static boolean notUtf8(CorruptedWebSocketFrameException ws) {
    return ws.closeStatus() != null
        && ws.closeStatus().code() == WebSocketCloseStatus.INVALID_PAYLOAD_DATA.code();
  }

  /** Whether {@code ws} is a message over the frame limit. */
  public static boolean tooLarge(CorruptedWebSocketFrameException ws) {
    return ws.closeStatus() != null
        && ws.closeStatus().code() == WebSocketCloseStatus.MESSAGE_TOO_BIG.code();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    Throwable e = unwrap(cause);
    if (e instanceof OutOfMemoryError) {
      // Out of (direct) memory: every connection that reads meanwhile fails the same way, so one
      // line a minute says so, with how many more there were; no stack (it is the allocator's).
      // Nothing is written to a connection the node has no memory for: it is closed.
      outOfMemory.error(
          "out of memory on a connection, closed: " + e + " (see jvm_netty_direct_used)");
      ctx.close();
      return;
    }
    if (e instanceof CorruptedWebSocketFrameException ws) {
      ErrorCode code = violationCode(ws);
      disconnector.close(
          ctx.channel(),
          code,
          code == ErrorCode.HANDSHAKE_FAILED ? "WebSocket protocol violation" : null);
      return;
    }
    if (e instanceof ProtocolException pe) {
      disconnector.close(ctx.channel(), pe.code(), pe.detail());
      return;
    }
    if (cause instanceof DecoderException || e instanceof PrematureChannelClosureException) {
      // Bytes from the client that cannot be decoded, or a request cut short: the client's doing.
      LOG.debug("undecodable input on {}: {}", ctx.channel(), e.toString());
      ctx.close();
      return;
    }
    if (e instanceof IOException || e instanceof ClosedChannelException) {
      if (e instanceof SSLException) {
        LOG.debug("TLS failure on {}: {}", ctx.channel(), e.toString());
      } else {
        LOG.debug("I/O error on {}: {}", ctx.channel(), e.toString());
      }
      ctx.close();
      return;
    }
    LOG.error("unexpected failure on {}", ctx.channel(), e);
    disconnector.close(ctx.channel(), ErrorCode.SESSION_ABORTED, null);
  }
}
