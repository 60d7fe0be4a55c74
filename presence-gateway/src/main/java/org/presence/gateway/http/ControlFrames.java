package org.presence.gateway.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import org.presence.gateway.error.Disconnector;

/**
 * How the node answers a client's WebSocket control frames (RFC 6455 §5.5), in one place for every
 * endpoint's session handler (Netty's {@code ws-protocol} leaves the pipeline once the handshake is
 * done, so it answers none).
 *
 * <p>A ping is answered with a pong carrying its payload only while the socket is writable and not
 * closing: a client that streams pings without reading gets no more pongs than its socket's write
 * buffer holds, and its reads pause meanwhile (see {@code routing/Backpressure}). The session
 * handler counts each control frame in the session's rate bucket before it asks for a pong.
 *
 * <p>A close frame whose status code no peer may send fails the connection, as Netty's decoder
 * fails it for the codes it checks itself ({@link #checkCloseCode}).
 *
 * <p>Both write through the whole pipeline (the channel's), so that a session handler that encodes
 * frames itself ({@link ServerFrames}) encodes these too.
 */
public final class ControlFrames {
  private ControlFrames() {}

  /**
   * Answers {@code ping} with a pong when the socket is writable and not closing; the caller still
   * owns (and releases) the ping. Returns whether a pong was written.
   */
  public static boolean pong(Channel ch, PingWebSocketFrame ping) {
    if (!ch.isWritable() || Disconnector.closing(ch)) {
      return false;
    }
    ch.writeAndFlush(new PongWebSocketFrame(ping.content().retainedDuplicate()), ch.voidPromise());
    return true;
  }

  /**
   * The client is leaving: echoes its close frame (its status code) and closes the socket once the
   * echo is out. The caller still owns (and releases) {@code close}.
   *
   * @throws CorruptedWebSocketFrameException before anything is written, when the frame's status
   *     code is one no peer may send ({@link #checkCloseCode}); the caller hands it on as it would
   *     the decoder's own violations, so that the connection fails the same way
   */
  public static void echoClose(Channel ch, CloseWebSocketFrame close) {
    checkCloseCode(close);
    ch.writeAndFlush(close.retainedDuplicate()).addListener(ChannelFutureListener.CLOSE);
  }

  /**
   * Fails a close frame whose status code a peer may not send (RFC 6455 §7.4): 0–999, 1004–1006 and
   * 1015 are never sent, 1016–2999 are reserved, and nothing above 4999 is a close code. A close
   * frame without a status code is fine. Netty's decoder refuses most of these itself, but it reads
   * the code as a signed number and lets 5000 and above through.
   *
   * @throws CorruptedWebSocketFrameException with {@link WebSocketCloseStatus#PROTOCOL_ERROR}, as
   *     the decoder throws for the codes it refuses
   */
  public static void checkCloseCode(CloseWebSocketFrame close) {
    int code = close.statusCode();
    if (code != -1 && !peerMaySend(code)) {
      throw new CorruptedWebSocketFrameException(
          WebSocketCloseStatus.PROTOCOL_ERROR, "Invalid close frame status code: " + code);
    }
  }

  /**
   * Whether a peer may send close code {@code code} (RFC 6455 §7.4.1 and §7.4.2): one of the
   * registered codes meant to be sent (1000–1003, 1007–1014), or one of the codes left to libraries
   * and applications (3000–4999).
   */
  static boolean peerMaySend(int code) {
    return (code >= 1000 && code <= 1003)
        || (code >= 1007 && code <= 1014)
        || (code >= 3000 && code <= 4999);
  }
}
