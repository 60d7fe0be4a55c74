package org.presence.gateway.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.connection.Backpressure;
import org.presence.gateway.error.Disconnector;

/**
 * Ends an HTTP connection after its last answer without losing that answer. Closing a socket with
 * unread input makes the kernel answer with a reset, and a client still sending (pipelined
 * requests, a body the node refused, a flood) could then lose the answer before it read it. So the
 * end is a half-close: once the answer is written, a FIN follows it, and what the client still
 * sends is read and dropped (first in the pipeline, before any decoder) until the client closes, or
 * until {@link #LINGER_MS} ends, when the connection is cut. The WebSocket channels end the same
 * way ({@link Disconnector}).
 */
public final class HttpClose {
  /** How long a closing connection keeps dropping what arrives before it is cut. */
  static final long LINGER_MS = Disconnector.DEFAULT_LINGER.toMillis();

  /** The name of the handler that drops a closing connection's input. */
  static final String DISCARDING = "http-closing";

  private HttpClose() {}

  /** Ends {@code written}'s connection once {@code written} (its last answer) is out. */
  public static void after(ChannelFuture written) {
    written.addListener(HttpClose.END);
  }

  /**
   * From now on, what arrives on {@code ch} is dropped before it is decoded. For a connection that
   * is answered in order before it closes: the requests decoded already are still answered, and a
   * client that keeps sending costs nothing (it fills no decoder's queue).
   */
  static void discardInput(Channel ch) {
    if (ch.pipeline().get(DISCARDING) == null) {
      ch.pipeline().addFirst(DISCARDING, Discarding.INSTANCE);
    }
  }

  private static final ChannelFutureListener END =
      f -> {
        Channel ch = f.channel();
        if (!f.isSuccess() || !ch.isActive() || !(ch instanceof DuplexChannel duplex)) {
          ch.close();
          return;
        }
        if (Backpressure.isClosing(ch)) {
          return;
        }
        discardInput(ch);
        // Reads go on (nothing after the answer is handled: the router checks isClosing).
        Backpressure.closing(ch);
        ch.read();
        duplex
            .shutdownOutput()
            .addListener(
                done -> {
                  if (!done.isSuccess()) {
                    ch.close();
                  }
                });
        ScheduledFuture<?> cut =
            ch.eventLoop().schedule(() -> ch.close(), LINGER_MS, TimeUnit.MILLISECONDS);
        ch.closeFuture().addListener(closed -> cut.cancel(false));
      };

  /**
   * First in a closing connection's pipeline: drops what arrives; a failure of the socket (the
   * client's reset) just closes it. The client's own close ends the connection (Netty closes a
   * socket whose input ends, half-closure not being allowed).
   */
  @Sharable
  private static final class Discarding extends ChannelInboundHandlerAdapter {
    static final Discarding INSTANCE = new Discarding();

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ReferenceCountUtil.release(msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
