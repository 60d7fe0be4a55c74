package org.presence.loadtest.floor;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
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
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * What an upgraded floor socket does with frames: a publisher's text frames go to every subscriber
 * of its relay channel, and an acknowledging publisher's are each answered as a Presence node
 * answers a status ({@code {"result":true}}, flushed once per read burst); holders and subscribers
 * drop what they get. Pings are answered and closes echoed. One instance per relay role and
 * channel, shared by its sockets.
 */
@ChannelHandler.Sharable
final class FloorFrameHandler extends ChannelInboundHandlerAdapter {
  /** The answer to each frame of an acknowledging publisher: the bytes of a Presence ack. */
  private static final ByteBuf ACK =
      Unpooled.unreleasableBuffer(
          Unpooled.directBuffer(15)
              .writeBytes("{\"result\":true}".getBytes(StandardCharsets.US_ASCII))
              .asReadOnly());

  private final FloorState state;
  private final Set<Channel> relayTo;
  private final Set<Channel> subscribeTo;
  private final boolean acks;

  /** A publisher to {@code relayTo} (null: a holder that relays nothing). */
  FloorFrameHandler(FloorState state, Set<Channel> relayTo) {
    this(state, relayTo, null, false);
  }

  private FloorFrameHandler(
      FloorState state, Set<Channel> relayTo, Set<Channel> subscribeTo, boolean acks) {
    this.state = state;
    this.relayTo = relayTo;
    this.subscribeTo = subscribeTo;
    this.acks = acks;
  }

  /** A subscriber that joins {@code set} once upgraded. */
  static FloorFrameHandler subscriber(FloorState state, Set<Channel> set) {
    return new FloorFrameHandler(state, null, set, false);
  }

  /** A publisher to {@code relayTo} that answers each of its frames. */
  static FloorFrameHandler acknowledging(FloorState state, Set<Channel> relayTo) {
    return new FloorFrameHandler(state, relayTo, null, true);
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
      if (acks) {
        ctx.write(new TextWebSocketFrame(ACK.duplicate()), ctx.voidPromise());
      }
    } else if (msg instanceof PingWebSocketFrame ping) {
      ctx.writeAndFlush(new PongWebSocketFrame(ping.content()));
    } else if (msg instanceof CloseWebSocketFrame close) {
      ctx.writeAndFlush(close).addListener(ChannelFutureListener.CLOSE);
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (acks) {
      ctx.flush();
    }
    ctx.fireChannelReadComplete();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
