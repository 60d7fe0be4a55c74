package org.presence.gateway.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
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
   */
  public static void echoClose(Channel ch, CloseWebSocketFrame close) {
    ch.writeAndFlush(close.retainedDuplicate()).addListener(ChannelFutureListener.CLOSE);
  }
}
