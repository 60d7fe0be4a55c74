package org.presence.gateway.device;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.connection.Backpressure;
import org.presence.gateway.connection.OnEventLoop;
import org.presence.gateway.connection.PipelineNames;
import org.presence.gateway.error.Disconnector;
import org.presence.gateway.http.ControlFrames;
import org.presence.gateway.net.ClientAddress;
import org.presence.protocol.device.DeviceCodec;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Ack;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.queue.Notification;

/**
 * The {@code device-session} handler of one device socket moves frames: it decodes each frame with
 * {@link DeviceCodec} and hands it to the socket's {@link SessionDriver}, which runs what the
 * {@link DeviceSession} decides; it writes what the driver gives it ({@link SessionDriver.Socket})
 * and maps the channel's events to calls on the driver (read complete, exception, inactive, the
 * connect timer). One instance per socket; everything shared sits in the {@link
 * DeviceChannelInstaller}. Every method runs on the channel's event loop.
 *
 * <p>Each frame is released here once decoded; nothing is buffered between frames. Reads pause
 * ({@link Backpressure}) while the driver checks a connect ({@link Backpressure#BUSY}) and while
 * {@value ReplyQueue#MAX_PENDING} answers wait behind an asynchronous step ({@link
 * Backpressure#PENDING}).
 *
 * <p>Once the WebSocket handshake is done, this handler removes {@code ws-protocol} (its work is
 * over, and a socket held for days should not keep it) and answers the control frames itself
 * through {@link ControlFrames}: a ping with a pong while the socket is writable and the session's
 * bucket allows it ({@link SessionDriver#onPing}), a close with a close (RFC 6455 §5.5). It also
 * becomes the socket's {@link Backpressure} then ({@link Backpressure#takeOver}): the {@code
 * backpressure} handler leaves the pipeline, and this one pauses reads while the socket is not
 * writable, ends it when that lasts, and counts the connection closed. Until then (and in a
 * pipeline without a {@code backpressure} handler) that part of it does nothing.
 */
@OnEventLoop
final class DeviceSessionHandler extends Backpressure implements SessionDriver.Socket {
  /**
   * The encoded ack, copied into a buffer of the channel's allocator for each ack: the WebSocket
   * encoder copies a pooled buffer into its frame directly, where a shared heap buffer would cost
   * it NIO buffer views per frame.
   */
  private static final byte[] ACK = DeviceCodec.toBytes(Ack.INSTANCE);

  /** The attribute in which {@code ws-protocol} keeps the handshaker (Netty's own key). */
  private static final AttributeKey<WebSocketServerHandshaker> HANDSHAKER =
      AttributeKey.valueOf(WebSocketServerHandshaker.class, "HANDSHAKER");

  private static final ProtocolException NON_TEXT =
      new ProtocolException(ErrorCode.NON_TEXT_FRAME, null);
  private static final ProtocolException FRAGMENTED =
      new ProtocolException(ErrorCode.MALFORMED_JSON, "fragmented frames are not accepted");

  private final DeviceChannelInstaller node;
  private final SessionDriver driver;
  private ChannelHandlerContext ctx;
  private ScheduledFuture<?> connectTimer;

  DeviceSessionHandler(DeviceChannelInstaller node) {
    this.node = node;
    this.driver = new SessionDriver(node, this);
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    connectTimer =
        ctx.executor()
            .schedule(
                driver::connectTimedOut,
                node.config().connectTimeout().toMillis(),
                TimeUnit.MILLISECONDS);
  }

  @Override
  @SuppressWarnings("deprecation")
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof WebSocketServerProtocolHandler.HandshakeComplete
        && ctx.pipeline().get(PipelineNames.WS_PROTOCOL) != null) {
      ctx.pipeline().remove(PipelineNames.WS_PROTOCOL);
      // The handshaker it kept in a channel attribute is of no use without it. Removing the
      // attribute (deprecated for attributes other threads may use) drops its entry too; only
      // this event loop touches it now.
      ctx.channel().attr(HANDSHAKER).getAndRemove();
    }
    if (evt instanceof WebSocketServerProtocolHandler.HandshakeComplete) {
      // The socket is this handler's for good: it does the backpressure handler's work from now
      // on, one handler and pipeline entry fewer per socket.
      takeOver(ctx);
    }
    super.userEventTriggered(ctx, evt);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof WebSocketFrame frame)) {
      // The upgrade request passes on its way to the handshake; anything else is released.
      ctx.fireChannelRead(msg);
      return;
    }
    long now = System.nanoTime();
    driver.readStarted(now);
    try {
      if (frame instanceof PingWebSocketFrame ping) {
        if (driver.onPing(now)) {
          ControlFrames.pong(ctx, ping);
        }
      } else if (frame instanceof CloseWebSocketFrame close) {
        // The client is leaving: echo its close (its status code) and close the socket.
        ControlFrames.echoClose(ctx, close);
      } else if (frame instanceof TextWebSocketFrame) {
        node.framesIn().inc();
        if (!frame.isFinalFragment()) {
          driver.onBadFrame(FRAGMENTED, now);
        } else {
          decode(frame.content(), now);
        }
      } else if (frame instanceof BinaryWebSocketFrame) {
        node.framesIn().inc();
        driver.onBadFrame(NON_TEXT, now);
      }
      // A pong (the answer to the node's keepalive) only proves the peer alive; continuations
      // belong to a fragmented message whose first frame was already refused.
    } finally {
      frame.release();
    }
  }

  private void decode(ByteBuf content, long now) {
    DeviceMessage message;
    try {
      message = node.codec().decode(content);
    } catch (ProtocolException e) {
      driver.onBadFrame(e, now);
      return;
    }
    driver.onMessage(message, now);
  }

  /**
   * The end of a read: the answers written while its frames were handled (acks of steps that
   * completed at once, refusals) leave with one flush.
   */
  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    driver.readComplete();
    ctx.fireChannelReadComplete();
  }

  /**
   * The pipeline's last handler: failures go where the {@code exception} tail would send them,
   * after the answers still pending (a broken frame ends the session after the frames accepted
   * before it are answered; the decoder drops what follows meanwhile).
   */
  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof java.io.IOException || !driver.failAfterPending(cause)) {
      node.exceptions().exceptionCaught(ctx, cause);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancelConnectTimer();
    connectionClosed();
    driver.closed();
    ctx.fireChannelInactive();
  }

  private void cancelConnectTimer() {
    if (connectTimer != null) {
      connectTimer.cancel(false);
      connectTimer = null;
    }
  }

  Channel channel() {
    return ctx.channel();
  }

  // ---- SessionDriver.Socket ----

  /**
   * Writes an answer. Unlike pushed notifications it is written even when the socket is not
   * writable: its reads are paused then ({@link Backpressure}), so answers are bounded by what was
   * read before, and a socket that stays unwritable is closed with {@code SLOW_CONSUMER}.
   */
  @Override
  public void writeReply(DeviceMessage message, boolean flush) {
    ByteBuf buf;
    if (message == Ack.INSTANCE) {
      buf = ctx.alloc().buffer(ACK.length).writeBytes(ACK);
    } else {
      buf = ctx.alloc().buffer(64);
      try {
        DeviceCodec.encode(message, buf);
      } catch (RuntimeException e) {
        buf.release();
        throw e;
      }
    }
    node.framesOut().inc();
    if (flush) {
      ctx.writeAndFlush(new TextWebSocketFrame(buf), ctx.voidPromise());
    } else {
      // Flushed once at the end of the read (channelReadComplete).
      ctx.write(new TextWebSocketFrame(buf), ctx.voidPromise());
    }
  }

  @Override
  public void flushReplies() {
    ctx.flush();
  }

  @Override
  public void closeWith(ErrorCode code, String detail) {
    node.disconnector().close(ctx.channel(), code, detail);
  }

  @Override
  public void failWith(Throwable failure) {
    node.exceptions().exceptionCaught(ctx, failure);
  }

  @Override
  public void pauseReads(boolean pause) {
    if (pause) {
      Backpressure.pause(ctx.channel(), Backpressure.PENDING);
      return;
    }
    Backpressure.resume(ctx.channel(), Backpressure.PENDING);
  }

  @Override
  public boolean gone() {
    Channel ch = ctx.channel();
    return !ch.isActive() || Disconnector.closing(ch);
  }

  @Override
  public Executor eventLoop() {
    return ctx.executor();
  }

  @Override
  public boolean inEventLoop() {
    return ctx.executor().inEventLoop();
  }

  @Override
  public boolean active() {
    return ctx.channel().isActive();
  }

  @Override
  public InetAddress address() {
    return ClientAddress.of(ctx.channel());
  }

  @Override
  public String describe() {
    return ctx.channel().id() + " from " + ClientAddress.describe(ctx.channel());
  }

  @Override
  public void connecting() {
    Backpressure.pause(ctx.channel(), Backpressure.BUSY);
  }

  @Override
  public void connected() {
    cancelConnectTimer();
    Backpressure.resume(ctx.channel(), Backpressure.BUSY);
  }

  @Override
  public void ping() {
    ctx.writeAndFlush(new PingWebSocketFrame(), ctx.voidPromise());
  }

  @Override
  public void writeNotifications(
      RecentIds recent, List<Notification> items, NotificationSink.Written written) {
    node.notificationFrames().push(ctx, recent, items, written);
  }
}
