package org.presence.gateway.device;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
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
import org.presence.gateway.http.ServerFrames;
import org.presence.gateway.net.ClientAddress;
import org.presence.protocol.device.DeviceCodec;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Ack;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.json.Utf8;
import org.presence.store.queue.Notification;

/**
 * The {@code device-session} handler of one device socket moves frames: it decodes each frame with
 * {@link DeviceCodec} and hands it to the socket's {@link SessionDriver}, which runs what the
 * {@link DeviceSession} decides; it writes what the driver gives it ({@link SessionDriver.Socket})
 * and maps the channel's events to calls on the driver (read complete, exception, inactive, the
 * connect timer). One instance per socket; everything shared sits in the {@link
 * DeviceChannelInstaller}. Every method runs on the channel's event loop.
 *
 * <p>Each frame is released here once decoded; no frame is buffered between frames. Reads pause
 * ({@link Backpressure}) while the driver checks a connect ({@link Backpressure#BUSY}) and while
 * {@value ReplyQueue#MAX_PENDING} answers wait behind an asynchronous step ({@link
 * Backpressure#PENDING}). The bytes already read after a connect that waits (in its read, or in a
 * read the transport had under way) stay undecoded in the decoder's buffer until the connect is
 * answered, and are decoded then ({@link #connected}): whether the connect is decided at once or
 * waits, the frames sent after it are handled after its answer, as on an open session.
 *
 * <p>Once the WebSocket handshake is done, this handler removes {@code ws-protocol} (its work is
 * over, and a socket held for days should not keep it) and answers the control frames itself
 * through {@link ControlFrames}: a ping with a pong while the socket is writable and the session's
 * bucket allows it ({@link SessionDriver#onPing}), a close with a close (RFC 6455 §5.5). It also
 * becomes the socket's {@link Backpressure} then ({@link Backpressure#takeOver}): the {@code
 * backpressure} handler leaves the pipeline, and this one pauses reads while the socket is not
 * writable, ends it when that lasts, and counts the connection closed. Until then (and in a
 * pipeline without a {@code backpressure} handler) that part of it does nothing. And it takes the
 * {@code wsencoder}'s place: every frame written on the socket, by it or through the pipeline (a
 * close from the {@link Disconnector}, a notification, a pong), is encoded here by Netty's encoder
 * ({@link ServerFrames}), and the ack goes out as the bytes of a whole frame. After the first whole
 * text message (the connect) it takes the {@code wsdecoder}'s place as well ({@link
 * #decodeFrames}): it runs Netty's decoder itself. An idle socket's pipeline is then {@code [tls] →
 * device-session}: one handler and its session for what Netty's WebSocket server spreads over
 * three.
 */
@OnEventLoop
final class DeviceSessionHandler extends Backpressure
    implements SessionDriver.Socket, Disconnector.Lingers {
  /** The encoded ack, the payload of an ack frame before this handler encodes frames. */
  private static final byte[] ACK = DeviceCodec.toBytes(Ack.INSTANCE);

  /**
   * The ack as a whole WebSocket frame, copied into a buffer of the channel's allocator for each
   * ack once this handler encodes frames (a pooled buffer, where a shared heap buffer would cost
   * the transport NIO buffer views per write).
   */
  private static final byte[] ACK_FRAME = ServerFrames.text(ACK);

  /** The attribute in which {@code ws-protocol} keeps the handshaker (Netty's own key). */
  private static final AttributeKey<WebSocketServerHandshaker> HANDSHAKER =
      AttributeKey.valueOf(WebSocketServerHandshaker.class, "HANDSHAKER");

  private static final ProtocolException NON_TEXT =
      new ProtocolException(ErrorCode.NON_TEXT_FRAME, null);
  private static final ProtocolException FRAGMENTED =
      new ProtocolException(ErrorCode.MALFORMED_JSON, "fragmented frames are not accepted");

  private final SessionDriver driver;
  private ChannelHandlerContext ctx;
  private ScheduledFuture<?> connectTimer;

  /** {@link #fragmented} outside a fragmented text message. */
  private static final int NOT_FRAGMENTED = Integer.MIN_VALUE;

  /**
   * Within a fragmented text message (refused, but checked as UTF-8): what its last fragment left
   * of a sequence it cut ({@link Utf8#checkFragment}); {@link #NOT_FRAGMENTED} otherwise.
   */
  private int fragmented = NOT_FRAGMENTED;

  /** The frame decoder once this handler took the {@code wsdecoder}'s place, else null. */
  private Frames frames;

  /**
   * Whether this handler encodes the frames written on its socket: from the end of the handshake,
   * when it takes the {@code wsencoder}'s place ({@link #write}).
   */
  private boolean encodes;

  DeviceSessionHandler(DeviceChannelInstaller node) {
    this.driver = new SessionDriver(node, this);
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    connectTimer =
        ctx.executor()
            .schedule(
                driver::connectTimedOut,
                driver.node().config().connectTimeout().toMillis(),
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
      // And the encoder's: a server's frames need no state of their own to be encoded.
      if (ctx.pipeline().get(PipelineNames.WS_ENCODER) != null) {
        ctx.pipeline().remove(PipelineNames.WS_ENCODER);
        encodes = true;
      }
    }
    super.userEventTriggered(ctx, evt);
  }

  /**
   * Encodes the WebSocket frames written through the pipeline (a close, a notification, a pong)
   * once this handler took the encoder's place; anything else, or any frame before, passes as it
   * is. The frames this handler writes itself go to {@link #send}, since a write from its own
   * context does not pass here.
   */
  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (encodes && msg instanceof WebSocketFrame frame) {
      ServerFrames.write(ctx, frame, promise);
    } else {
      ctx.write(msg, promise);
    }
  }

  /** Writes {@code frame} from this handler: encoded here once it took the encoder's place. */
  private void send(WebSocketFrame frame, ChannelPromise promise) {
    write(ctx, frame, promise);
  }

  /**
   * Netty's frame decoder with the handshake's settings, run by this handler in the {@code
   * wsdecoder}'s place ({@link #decodeFrames}): each frame it decodes goes to {@link #frameRead}
   * rather than along a pipeline.
   */
  private static final class Frames extends WebSocket13FrameDecoder {
    Frames(WebSocketDecoderConfig config) {
      super(config);
    }

    /**
     * The end of a read, in place of {@link #channelReadComplete}: the input kept for a frame cut
     * short is compacted, and no read is asked for. (Netty's decoder asks for one when a read
     * brought no whole frame while reads are off; here they are off only when {@link Backpressure}
     * paused them, and a paused socket must not be read.)
     */
    void endOfRead() {
      discardSomeReadBytes();
    }

    /** Whether bytes wait undecoded (held while a connect was checked, or a frame cut short). */
    boolean holds() {
      return internalBuffer().isReadable();
    }

    /** Decodes the bytes held while a connect was checked, as a read would, and ends the read. */
    void decodeHeld(ChannelHandlerContext ctx) throws Exception {
      channelRead(ctx, Unpooled.EMPTY_BUFFER);
      endOfRead();
    }

    /**
     * Decodes the next frame, unless a connect is being checked: the bytes then wait in the buffer,
     * between two frames (the connect was a whole one), for {@link #decodeHeld}. Called with the
     * handler's own context only (it holds no reference of its own: 8 B).
     */
    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out)
        throws Exception {
      DeviceSessionHandler handler = (DeviceSessionHandler) ctx.handler();
      if (handler.driver.state() == DeviceSession.State.AUTHENTICATING) {
        // Nothing consumed: the decoder's loop stops here and keeps the bytes.
        return;
      }
      super.decode(ctx, in, out);
      try {
        for (int i = 0; i < out.size(); i++) {
          handler.frameRead(ctx, (WebSocketFrame) out.get(i));
        }
      } finally {
        out.clear();
      }
    }
  }

  /**
   * Bytes once this handler decodes the frames ({@link #decodeFrames}); frames from the {@code
   * wsdecoder} before. The upgrade request passes on its way to the handshake; anything else is
   * released by the pipeline's tail.
   */
  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    if (frames != null && msg instanceof ByteBuf) {
      frames.channelRead(ctx, msg);
    } else if (msg instanceof WebSocketFrame frame) {
      boolean wholeText = frame instanceof TextWebSocketFrame && frame.isFinalFragment();
      frameRead(ctx, frame);
      if (wholeText && frames == null && encodes) {
        decodeFrames(ctx);
      }
    } else {
      ctx.fireChannelRead(msg);
    }
  }

  /**
   * Takes the {@code wsdecoder}'s place, once the handshake is done, right after a whole text
   * message it decoded (usually the connect): the decoder is then between two frames and in no
   * fragmented message, so a decoder of this handler's own with the same settings goes on from
   * there. The bytes the {@code wsdecoder} holds unread come back to {@link #channelRead} as it
   * leaves. One handler and pipeline entry fewer per socket; a socket being closed keeps its {@code
   * wsdecoder} (the {@link Disconnector}'s lingering handler sits after it).
   */
  private void decodeFrames(ChannelHandlerContext ctx) {
    ChannelPipeline p = ctx.pipeline();
    if (closing()
        || p.get(PipelineNames.WS_DECODER) == null
        || p.get(PipelineNames.CLOSING) != null) {
      return;
    }
    frames = new Frames(driver.node().frameDecoding());
    p.remove(PipelineNames.WS_DECODER);
  }

  @Override
  public boolean decodesFrames() {
    return frames != null;
  }

  /**
   * One frame: counted, decoded and handed to the driver, and released. Once the socket is being
   * closed ({@link Disconnector.Lingers}) frames are only dropped, and the client's close frame
   * closes the socket. A failure goes to {@link #exceptionCaught}, as a handler's would.
   */
  private void frameRead(ChannelHandlerContext ctx, WebSocketFrame frame) {
    if (closing()) {
      boolean close = frame instanceof CloseWebSocketFrame;
      frame.release();
      if (close) {
        ctx.close();
      }
      return;
    }
    long now = System.nanoTime();
    try {
      driver.readStarted(now);
      if (frame instanceof PingWebSocketFrame ping) {
        if (driver.onPing(now)) {
          ControlFrames.pong(ctx.channel(), ping);
        }
      } else if (frame instanceof CloseWebSocketFrame close) {
        // The client is leaving: echo its close (its status code) and close the socket. A code no
        // peer may send throws, and fails the connection below as the decoder's violations do.
        ControlFrames.echoClose(ctx.channel(), close);
      } else if (frame instanceof TextWebSocketFrame) {
        driver.node().framesIn().inc();
        if (!frame.isFinalFragment()) {
          fragmented = Utf8.NO_CARRY;
          if (fragmentIsUtf8(frame, now)) {
            driver.onBadFrame(FRAGMENTED, now);
          }
        } else {
          decode(frame.content(), now);
        }
      } else if (frame instanceof ContinuationWebSocketFrame) {
        if (fragmented != NOT_FRAGMENTED) {
          fragmentIsUtf8(frame, now);
        }
      } else if (frame instanceof BinaryWebSocketFrame) {
        driver.node().framesIn().inc();
        driver.onBadFrame(NON_TEXT, now);
      }
      // A pong (the answer to the node's keepalive) only proves the peer alive. The fragments of
      // a text message are refused at the first but still checked (fragmentIsUtf8).
    } catch (RuntimeException e) {
      exceptionCaught(ctx, e);
    } finally {
      frame.release();
    }
  }

  /**
   * Checks one fragment of a text message (the first, or a continuation of one) as UTF-8, with what
   * the fragment before left of a sequence it cut ({@link #fragmented}): the message is refused
   * ({@code FRAGMENTED}) and never read, but text that is not UTF-8 still fails the connection (RFC
   * 6455 §8.1), as the update channel's and XMPP's check does with every fragment. Returns whether
   * the bytes so far are UTF-8; when not, the session ends with {@code INVALID_UTF8} (1007).
   */
  private boolean fragmentIsUtf8(WebSocketFrame frame, long now) {
    ByteBuf b = frame.content();
    int carry = Utf8.checkFragment(fragmented, b, b.readerIndex(), b.readableBytes());
    boolean last = frame.isFinalFragment();
    fragmented = last ? NOT_FRAGMENTED : carry;
    if (carry == Utf8.INVALID || (last && carry != Utf8.NO_CARRY)) {
      fragmented = NOT_FRAGMENTED;
      driver.onBadFrame(
          new ProtocolException(ErrorCode.INVALID_UTF8, "in a fragmented message"), now);
      return false;
    }
    return true;
  }

  private void decode(ByteBuf content, long now) {
    DeviceMessage message;
    try {
      message = driver.node().codec().decode(content);
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
    if (frames != null) {
      frames.endOfRead();
    }
    ctx.fireChannelReadComplete();
  }

  /**
   * The pipeline's last handler: failures go where the {@code exception} tail would send them,
   * after the answers still pending (a broken frame ends the session after the frames accepted
   * before it are answered; the decoder drops what follows meanwhile).
   */
  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (closing() && frames != null) {
      // As the disconnector's lingering handler does: the error was answered already, a broken
      // frame now only waits for the linger to end.
      if (cause instanceof java.io.IOException) {
        ctx.close();
      }
      return;
    }
    if (cause instanceof java.io.IOException || !driver.failAfterPending(cause)) {
      driver.node().exceptions().exceptionCaught(ctx, cause);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancelConnectTimer();
    connectionClosed();
    driver.closed();
    if (frames != null) {
      // The decoder releases what it held of a frame cut short (and passes the event on).
      try {
        frames.channelInactive(ctx);
      } catch (Exception e) {
        exceptionCaught(ctx, e);
      }
    } else {
      ctx.fireChannelInactive();
    }
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) throws Exception {
    if (frames != null) {
      frames.handlerRemoved(ctx);
    }
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
    driver.node().framesOut().inc();
    if (message == Ack.INSTANCE && encodes) {
      // The most frequent answer, copied whole: no frame object, no encoding, no second buffer.
      ctx.write(ctx.alloc().buffer(ACK_FRAME.length).writeBytes(ACK_FRAME), ctx.voidPromise());
    } else {
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
      send(new TextWebSocketFrame(buf), ctx.voidPromise());
    }
    if (flush) {
      ctx.flush();
    }
    // Otherwise flushed once at the end of the read (channelReadComplete).
  }

  @Override
  public void flushReplies() {
    ctx.flush();
  }

  @Override
  public void closeWith(ErrorCode code, String detail) {
    driver.node().disconnector().close(ctx.channel(), code, detail);
  }

  /** The node drains: the session ends once the frames it accepted are answered. */
  void drain() {
    driver.drain();
  }

  @Override
  public void failWith(Throwable failure) {
    driver.node().exceptions().exceptionCaught(ctx, failure);
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
    Frames f = frames;
    if (f != null && f.holds()) {
      // The frames that came with or after the connect, after its answer (and after the session's
      // set-up, which goes on once this returns). A read that comes first decodes them first.
      ctx.executor().execute(() -> decodeHeld(f));
    }
  }

  private void decodeHeld(Frames f) {
    if (frames != f || !ctx.channel().isActive()) {
      return;
    }
    try {
      f.decodeHeld(ctx);
    } catch (Exception e) {
      exceptionCaught(ctx, e);
    }
    driver.readComplete();
  }

  @Override
  public void ping() {
    send(new PingWebSocketFrame(), ctx.voidPromise());
    ctx.flush();
  }

  @Override
  public void writeNotifications(
      RecentIds recent, List<Notification> items, NotificationSink.Written written) {
    driver.node().notificationFrames().push(ctx.channel(), recent, items, written);
  }
}
