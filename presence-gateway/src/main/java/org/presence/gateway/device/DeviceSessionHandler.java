package org.presence.gateway.device;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.connection.Backpressure;
import org.presence.gateway.connection.PipelineNames;
import org.presence.gateway.error.Disconnector;
import org.presence.gateway.http.ControlFrames;
import org.presence.gateway.identity.Identity;
import org.presence.gateway.net.ClientAddress;
import org.presence.protocol.device.DeviceCodec;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Ack;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.device.DeviceMessage.Connected;
import org.presence.protocol.device.DeviceMessage.ErrorReply;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.id.SecureRandoms;
import org.presence.store.queue.Notification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code device-session} handler of one device socket moves frames: it decodes each frame with
 * {@link DeviceCodec}, hands it to its {@link DeviceSession} (the state machine that decides,
 * including the keepalive and the connect timeout), carries the step out (through {@link
 * DeviceService} when it needs the store or the identity provider) and writes the answer in order.
 * One instance per socket, holding the session and the time of the last read; everything shared
 * sits in the {@link DeviceChannelInstaller}.
 *
 * <p>Each frame is released here once decoded; nothing is buffered between frames. Reads are paused
 * while the connect's assertion is verified and the device claimed, and resumed once the answer is
 * written. Asynchronous results come back on the channel's event loop and are dropped if the socket
 * closed meanwhile.
 *
 * <p>Answers leave in request order through the socket's {@link ReplyQueue}: while an asynchronous
 * step (a status, a push registration, an answer to notifications) is pending, later answers
 * (refusals included) wait behind it, and an error that ends the session goes out only after the
 * answers of the frames accepted before it. At most {@value #MAX_PENDING} answers wait; reads pause
 * while that many do.
 *
 * <p>Once the WebSocket handshake is done, this handler removes {@code ws-protocol} (its work is
 * over, and a socket held for days should not keep it) and answers the control frames itself
 * through {@link ControlFrames}: a ping with a pong while the socket is writable, a close with a
 * close (RFC 6455 §5.5). A ping takes a token from the session's bucket, before the connect too
 * ({@link DeviceSession#onControlFrame}).
 *
 * <p>Live notifications (wiki section 6) reach the socket through {@link #push}, as {@code
 * {"notifications": [...]}} frames written by the node's {@link NotificationFrames}; the session's
 * {@link RecentIds} (from the first push on) make an item that reaches the session twice, by its
 * connect and by a wake-up at the same moment, written once. A change of the user's settings
 * reaches the socket through {@link #settings}, as a {@code {"settings": {...}}} frame.
 */
final class DeviceSessionHandler extends ChannelInboundHandlerAdapter
    implements DeviceRegistry.Link, NotificationSink, ReplyQueue.Out {
  /** Answers waiting (behind an asynchronous step) before the socket's reads pause. */
  static final int MAX_PENDING = ReplyQueue.MAX_PENDING;

  private static final Logger LOG = LoggerFactory.getLogger(DeviceSessionHandler.class);

  /** The ack's bytes, written by every session (never released: each write takes a duplicate). */
  private static final ByteBuf ACK =
      Unpooled.unreleasableBuffer(
          Unpooled.wrappedBuffer(DeviceCodec.toBytes(Ack.INSTANCE)).asReadOnly());

  /** The attribute in which {@code ws-protocol} keeps the handshaker (Netty's own key). */
  private static final AttributeKey<WebSocketServerHandshaker> HANDSHAKER =
      AttributeKey.valueOf(WebSocketServerHandshaker.class, "HANDSHAKER");

  private static final ProtocolException NON_TEXT =
      new ProtocolException(ErrorCode.NON_TEXT_FRAME, null);
  private static final ProtocolException FRAGMENTED =
      new ProtocolException(ErrorCode.MALFORMED_JSON, "fragmented frames are not accepted");

  private final DeviceChannelInstaller node;
  private final DeviceSession session;
  private ChannelHandlerContext ctx;
  private ScheduledFuture<?> connectTimer;

  /**
   * When the session ends because its identity expired without refresh ({@code identity-grace}
   * after the token's expiry), in epoch milliseconds; the registry's sweep looks at it, so no timer
   * is held per session. {@link Long#MAX_VALUE} until open.
   */
  private volatile long identityDeadline = Long.MAX_VALUE;

  /** The paired device whose token the session holds, or empty. */
  private volatile String pairedDevice = "";

  private volatile long lastReadNanos;

  /** Ids pushed lately; {@code null} until the first push. */
  private RecentIds recent;

  /** The answers in request order, and the one flush per read. */
  private final ReplyQueue replies = new ReplyQueue(this);

  DeviceSessionHandler(DeviceChannelInstaller node) {
    this.node = node;
    this.session = new DeviceSession(node.rateLimit());
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    lastReadNanos = System.nanoTime();
    connectTimer =
        ctx.executor()
            .schedule(
                this::connectTimedOut,
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
    lastReadNanos = now;
    replies.readStarted();
    try {
      if (frame instanceof PingWebSocketFrame ping) {
        // Answered while the socket is writable, and it takes a token like any frame, so that
        // streaming pings costs the client its socket.
        DeviceSession.Step step = session.onControlFrame(now);
        if (step == null) {
          ControlFrames.pong(ctx, ping);
        } else if (step instanceof DeviceSession.End e) {
          endAfterReplies(e.code(), e.detail());
        }
        return;
      }
      if (frame instanceof PongWebSocketFrame || frame instanceof ContinuationWebSocketFrame) {
        // A pong (the answer to the node's keepalive) only proves the peer alive; it asks for
        // nothing. Continuations belong to a fragmented message whose first frame was already
        // refused.
        return;
      }
      if (frame instanceof CloseWebSocketFrame close) {
        // The client is leaving: echo its close (its status code) and close the socket.
        ControlFrames.echoClose(ctx, close);
        return;
      }
      node.framesIn().inc();
      DeviceSession.Step step;
      if (frame instanceof TextWebSocketFrame) {
        step =
            frame.isFinalFragment()
                ? decoded(frame.content(), now)
                : session.onBadFrame(FRAGMENTED, now);
      } else if (frame instanceof BinaryWebSocketFrame) {
        step = session.onBadFrame(NON_TEXT, now);
      } else {
        return;
      }
      perform(step);
    } finally {
      frame.release();
    }
  }

  /**
   * The end of a read: the answers written while its frames were handled (acks of steps that
   * completed at once, refusals) leave with one flush.
   */
  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    replies.readComplete();
    ctx.fireChannelReadComplete();
  }

  private DeviceSession.Step decoded(ByteBuf content, long now) {
    DeviceMessage message;
    try {
      message = node.codec().decode(content);
    } catch (ProtocolException e) {
      return session.onBadFrame(e, now);
    }
    return session.onFrame(message, now);
  }

  private void perform(DeviceSession.Step step) {
    if (step instanceof DeviceSession.Apply a) {
      ReplyQueue.Reply reply = replies.expect();
      CompletableFuture<Void> done =
          node.service()
              .status(
                  session.user(),
                  session.device(),
                  session.sessionId(),
                  a.status(),
                  a.message(),
                  a.applicationIds())
              .toCompletableFuture();
      if (done.isDone()) {
        // Decided already (the in-process store): answered in this read, with no task.
        answered(reply, failure(done));
      } else {
        done.whenCompleteAsync((v, e) -> answered(reply, e), ctx.executor());
      }
    } else if (step instanceof DeviceSession.Refuse r) {
      refuse(r.code(), r.detail());
    } else if (step instanceof DeviceSession.End e) {
      endAfterReplies(e.code(), e.detail());
    } else if (step instanceof DeviceSession.Authenticate a) {
      authenticate(a.connect());
    } else if (step instanceof DeviceSession.Reauthenticate r) {
      ReplyQueue.Reply reply = replies.expect();
      node.service()
          .reauthenticate(r.assertion())
          .whenCompleteAsync((identity, e) -> reauthenticated(reply, identity, e), ctx.executor());
    } else if (step instanceof DeviceSession.Answer a) {
      ReplyQueue.Reply reply = replies.expect();
      node.notifications()
          .answered(session.user(), a.ids(), a.acted())
          .whenCompleteAsync(
              (unknown, e) -> answeredNotifications(reply, unknown, e), ctx.executor());
    } else if (step instanceof DeviceSession.Register r) {
      ReplyQueue.Reply reply = replies.expect();
      node.service()
          .registerPush(session.user(), session.device(), session.applicationIds(), r.presenceId())
          .whenCompleteAsync((v, e) -> answered(reply, e), ctx.executor());
    }
  }

  /** The failure of a completed future, or {@code null} when it succeeded. */
  private static Throwable failure(CompletableFuture<?> done) {
    if (!done.isCompletedExceptionally()) {
      return null;
    }
    try {
      done.join();
      return null;
    } catch (CompletionException | java.util.concurrent.CancellationException e) {
      return e;
    }
  }

  private void authenticate(Connect connect) {
    Channel ch = ctx.channel();
    // No frame is read until the session is open or refused.
    Backpressure.pause(ch, Backpressure.BUSY);
    node.service()
        .authenticate(connect.assertion(), ClientAddress.of(ch))
        .whenCompleteAsync((identity, e) -> authenticated(connect, identity, e), ctx.executor());
  }

  private void authenticated(Connect connect, Identity identity, Throwable e) {
    if (session.state() != DeviceSession.State.AUTHENTICATING || !ctx.channel().isActive()) {
      return;
    }
    if (e != null) {
      end(e);
      return;
    }
    UUID id = SecureRandoms.uuid();
    String user = identity.subject();
    String device = DeviceSession.deviceOf(connect, id);
    node.service()
        .open(user, device, id)
        .whenCompleteAsync((v, e2) -> opened(connect, identity, device, id, e2), ctx.executor());
  }

  private void opened(Connect connect, Identity identity, String device, UUID id, Throwable e) {
    String user = identity.subject();
    if (e != null) {
      if (ctx.channel().isActive()) {
        end(e);
      }
      return;
    }
    if (session.state() != DeviceSession.State.AUTHENTICATING || !ctx.channel().isActive()) {
      // Gone while the device was being claimed: give it back after the grace period.
      node.service().closed(user, device, id);
      return;
    }
    session.opened(id, user, device, connect.applicationIds(), System.nanoTime());
    cancelConnectTimer();
    pairedDevice = identity.pairedDevice();
    scheduleExpiry(identity.expiresAt());
    node.registry().add(id, this);
    send(new Connected(id, identity.expiresAt().toEpochMilli()));
    Backpressure.resume(ctx.channel(), Backpressure.BUSY);
    // After the registry knows the session: an item stored from now on wakes it, an item stored
    // before is in what opened() reads.
    node.notifications().opened(this);
  }

  /**
   * A {@code refresh} was checked: a token of the session's user extends the session to its expiry
   * (answered with the new {@code expires_at}); another user's is refused ({@code
   * IDENTITY_MISMATCH}) and a bad token is refused with its errno, the session keeping its former
   * token; a revoked device's ends the session.
   */
  private void reauthenticated(ReplyQueue.Reply reply, Identity identity, Throwable e) {
    if (e != null) {
      answered(reply, e);
      return;
    }
    if (session.onReauthenticated(identity.subject()) instanceof DeviceSession.Refuse r) {
      answered(reply, new ProtocolException(r.code(), r.detail()));
      return;
    }
    if (session.state() == DeviceSession.State.OPEN) {
      pairedDevice = identity.pairedDevice();
      scheduleExpiry(identity.expiresAt());
    }
    replies.answer(reply, new DeviceMessage.Refreshed(identity.expiresAt().toEpochMilli()));
  }

  /** Sets when the session ends: {@code identity-grace} after {@code expires}, unless refreshed. */
  private void scheduleExpiry(Instant expires) {
    identityDeadline = expires.toEpochMilli() + node.config().identityGrace().toMillis();
  }

  @Override
  public long identityDeadlineMillis() {
    return identityDeadline;
  }

  @Override
  public void identityExpired() {
    if (session.state() != DeviceSession.State.OPEN
        || !ctx.channel().isActive()
        || System.currentTimeMillis() < identityDeadline) {
      // Gone, or refreshed since the sweep saw it due.
      return;
    }
    identityDeadline = Long.MAX_VALUE;
    endAfterReplies(ErrorCode.IDENTITY_EXPIRED, null);
  }

  private void answeredNotifications(ReplyQueue.Reply reply, List<String> unknown, Throwable e) {
    if (e == null && !unknown.isEmpty()) {
      node.metrics().error(ErrorCode.UNKNOWN_NOTIFICATION);
      replies.answer(
          reply, ErrorReply.of(ErrorCode.UNKNOWN_NOTIFICATION, String.join(", ", unknown)));
      return;
    }
    answered(reply, e);
  }

  /**
   * Fills in the answer of an asynchronous step (an ack, or the error it failed with) and writes
   * the answers that are due. It is written even when the session ended meanwhile (by a later frame
   * of the client): its error goes out after it.
   */
  private void answered(ReplyQueue.Reply reply, Throwable e) {
    if (e == null) {
      replies.answer(reply, Ack.INSTANCE);
      return;
    }
    ProtocolException pe = protocolException(e);
    if (pe.code().sessionLost()) {
      replies.answerEnd(reply, pe.code(), pe.detail());
    } else {
      node.metrics().error(pe.code());
      replies.answer(reply, ErrorReply.of(pe.code(), pe.detail()));
    }
  }

  /** Ends the session with {@code code} once the answers still pending are written. */
  private void endAfterReplies(ErrorCode code, String detail) {
    session.closed();
    replies.endAfterReplies(code, detail);
  }

  private void end(Throwable e) {
    ProtocolException pe = protocolException(e);
    session.closed();
    node.disconnector().close(ctx.channel(), pe.code(), pe.detail());
  }

  private ProtocolException protocolException(Throwable t) {
    Throwable e = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    if (e instanceof ProtocolException pe) {
      return pe;
    }
    LOG.error(
        "device session {} from {} failed",
        ctx.channel().id(),
        ClientAddress.describe(ctx.channel()),
        e);
    return new ProtocolException(ErrorCode.SESSION_ABORTED, null);
  }

  private void refuse(ErrorCode code, String detail) {
    node.metrics().error(code);
    replies.reply(ErrorReply.of(code, detail));
  }

  /** Writes a frame that is not an answer in request order (connected, settings). */
  private void send(DeviceMessage message) {
    replies.send(message);
  }

  /**
   * Writes an answer. Unlike pushed notifications it is written even when the socket is not
   * writable: its reads are paused then ({@link Backpressure}), so answers are bounded by what was
   * read before, and a socket that stays unwritable is closed with {@code SLOW_CONSUMER}.
   */
  @Override
  public void writeReply(DeviceMessage message, boolean flush) {
    ByteBuf buf;
    if (message == Ack.INSTANCE) {
      buf = ACK.duplicate();
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
    } else {
      Backpressure.resume(ctx.channel(), Backpressure.PENDING);
    }
  }

  @Override
  public boolean gone() {
    Channel ch = ctx.channel();
    return !ch.isActive() || Disconnector.closing(ch);
  }

  private void connectTimedOut() {
    if (session.onConnectTimeout() instanceof DeviceSession.End e) {
      node.disconnector().close(ctx.channel(), e.code(), e.detail());
    }
  }

  private void cancelConnectTimer() {
    if (connectTimer != null) {
      connectTimer.cancel(false);
      connectTimer = null;
    }
  }

  /**
   * The pipeline's last handler: failures go where the {@code exception} tail would send them,
   * after the answers still pending (a broken frame ends the session after the frames accepted
   * before it are answered; the decoder drops what follows meanwhile).
   */
  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (!replies.pending() || cause instanceof java.io.IOException) {
      node.exceptions().exceptionCaught(ctx, cause);
      return;
    }
    session.closed();
    replies.failAfterReplies(cause);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancelConnectTimer();
    replies.clear();
    session.closed();
    // Opened once (whether it ended by the client, an error or the node): its device goes.
    if (session.sessionId() != null) {
      node.registry().remove(session.sessionId(), this);
      node.service().closed(session.user(), session.device(), session.sessionId());
    }
    ctx.fireChannelInactive();
  }

  // ---- NotificationSink ----

  @Override
  public String user() {
    return session.user();
  }

  @Override
  public UUID session() {
    return session.sessionId();
  }

  @Override
  public void push(List<Notification> items, Written written) {
    if (!ctx.executor().inEventLoop()) {
      ctx.executor().execute(() -> push(items, written));
      return;
    }
    if (!ctx.channel().isActive() || session.state() != DeviceSession.State.OPEN) {
      return;
    }
    RecentIds r = recent;
    if (r == null) {
      r = recent = new RecentIds();
    }
    node.notificationFrames().push(ctx, r, items, written);
  }

  // ---- DeviceRegistry.Link (called on the event loop) ----

  @Override
  public Channel channel() {
    return ctx.channel();
  }

  @Override
  public String pairedDevice() {
    return pairedDevice;
  }

  @Override
  public long lastReadNanos() {
    return lastReadNanos;
  }

  @Override
  public void replaced() {
    if (session.state() == DeviceSession.State.OPEN) {
      node.disconnector().close(ctx.channel(), ErrorCode.SESSION_REPLACED, null);
    }
  }

  @Override
  public void settings(DeviceMessage.Settings settings) {
    if (ctx.channel().isActive() && session.sendSettings(settings)) {
      // A device that does not read is closed (SLOW_CONSUMER); it reads the settings anew.
      send(settings);
    }
  }

  @Override
  public void abort(ErrorCode code, String detail) {
    if (session.state() == DeviceSession.State.OPEN) {
      node.disconnector().close(ctx.channel(), code, detail);
    }
  }

  @Override
  public void keepalive() {
    Channel ch = ctx.channel();
    if (!ch.isActive()) {
      return;
    }
    DeviceSession.Step step =
        session.onKeepalive(
            System.nanoTime(),
            lastReadNanos,
            node.config().pingInterval().toNanos(),
            node.config().pingTimeout().toNanos());
    if (step instanceof DeviceSession.Ping) {
      ctx.writeAndFlush(new PingWebSocketFrame(), ctx.voidPromise());
    } else if (step instanceof DeviceSession.End e) {
      node.disconnector().close(ch, e.code(), e.detail());
    }
  }
}
