package org.presence.loadtest.floor;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import java.util.Set;

/**
 * What an upgraded floor socket does with frames: a publisher's text frames go to every subscriber
 * of its relay channel; holders and subscribers drop what they get. Pings are answered and closes
 * echoed. One instance per relay role and channel, shared by its sockets.
 */
@ChannelHandler.Sharable
final class FloorFrameHandler extends ChannelInboundHandlerAdapter {
  private final FloorState state;
  private final Set<Channel> relayTo;
  private final Set<Channel> subscribeTo;

  /** A publisher to {@code relayTo} (null: a holder that relays nothing). */
  FloorFrameHandler(FloorState state, Set<Channel> relayTo) {
    this(state, relayTo, null);
  }

  private FloorFrameHandler(FloorState state, Set<Channel> relayTo, Set<Channel> subscribeTo) {
    this.state = state;
    this.relayTo = relayTo;
    this.subscribeTo = subscribeTo;
  }

  /** A subscriber that joins {@code set} once upgraded. */
  static FloorFrameHandler subscriber(FloorState state, Set<Channel> set) {
    return new FloorFrameHandler(state, null, set);
  }

  /** The socket finished its upgrade. */
  void upgraded(Channel ch) {
    if (subscribeTo != null) {
      subscribeTo.add(ch);
      ch.closeFuture().addListener(f -> subscribeTo.remove(ch));
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof TextWebSocketFrame text && relayTo != null) {
      state.frameIn();
      int n = 0;
      for (Channel sub : relayTo) {
        // Each subscriber gets its own view of the same bytes; the original is released below.
        sub.writeAndFlush(text.retainedDuplicate(), sub.voidPromise());
        n++;
      }
      state.framesOut(n);
      text.release();
    } else if (msg instanceof PingWebSocketFrame ping) {
      ctx.writeAndFlush(new PongWebSocketFrame(ping.content()));
    } else if (msg instanceof CloseWebSocketFrame close) {
      ctx.writeAndFlush(close).addListener(ChannelFutureListener.CLOSE);
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
