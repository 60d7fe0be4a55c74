package org.presence.gateway.updates;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.connection.Backpressure;
import org.presence.gateway.connection.Connections;
import org.presence.gateway.connection.PipelineNames;
import org.presence.gateway.http.ControlFrames;
import org.presence.protocol.api.ErrorBody;
import org.presence.protocol.app.AppCodec;
import org.presence.protocol.app.AppFrames.KeyFrame;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.limit.ClockedBucket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code app-session} handler of one update socket: waits for the key frame (reads paused while
 * the key is checked), answers {@code {"result": true}} or closes with the errno, then hands the
 * socket to an {@link UpdateConsumer} as its {@link UpdateConsumer.Sink}. Writability changes
 * resume the consumer. The channel is one-way after the key frame: a later data frame is answered
 * with {@code ALREADY_CONNECTED} (when the socket is writable) and otherwise ignored. The order the
 * application reads is the result, the snapshot, then those answers: a frame that arrives while the
 * key is checked (read with it) or while a snapshot is read and written is answered once the
 * snapshot's last frame is written ({@link #snapshotWritten}), never before or between its frames.
 * A silent socket is pinged and closed when it stays silent ({@code PING_TIMEOUT}).
 *
 * <p>Once the handshake is done, {@code ws-protocol} leaves the pipeline and this handler answers
 * the control frames through {@link ControlFrames} (a ping with a pong while the socket is
 * writable, a close with a close). Every frame the client sends but pongs (answers to the node's
 * pings), pings included and from the socket's start, takes a token from a small bucket ({@code
 * updates.frame-burst} tokens, {@code updates.frame-rate} more per second): a frame beyond it is
 * dropped unanswered, and {@code updates.frame-overdraft} more close the socket with {@code
 * RATE_LIMIT_EXCEEDED}.
 */
final class UpdateSessionHandler extends ChannelInboundHandlerAdapter
    implements UpdateConsumer.Sink {
  private static final Logger LOG = LoggerFactory.getLogger(UpdateSessionHandler.class);

  /** The detail of the answer to a frame sent after the key frame. */
  private static final String ONE_WAY = "the update channel only sends";

  private enum State {
    AWAITING_KEY,
    AUTHENTICATING,
    OPEN,
    CLOSED
  }

  private final UpdateChannelInstaller node;
  private final String appIdText;
  private ChannelHandlerContext ctx;
  private State state = State.AWAITING_KEY;
  private ScheduledFuture<?> keyTimer;
  private ScheduledFuture<?> pingTimer;
  private long lastReadNanos;
  private boolean pinged;
  private AppUpdates.Admission admission;
  private UpdateConsumer consumer;

  /**
   * Answers owed to frames that arrived after the key frame while no answer could go out yet (the
   * key being checked, a snapshot being written); written after the snapshot. A count, not the
   * frames: the answers are all alike, and the frame bucket bounds how many there can be.
   */
  private int owed;

  /** The socket's frame bucket (Bucket4j state), full when the socket is set up. */
  private ClockedBucket bucket;

  UpdateSessionHandler(UpdateChannelInstaller node, String appIdText) {
    this.node = node;
    this.appIdText = appIdText;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    lastReadNanos = System.nanoTime();
    bucket =
        new ClockedBucket(node.config().frameRate(), node.config().frameBurst(), lastReadNanos);
    keyTimer =
        ctx.executor()
            .schedule(
                () -> {
                  if (state == State.AWAITING_KEY || state == State.AUTHENTICATING) {
                    close(ErrorCode.CONNECT_TIMEOUT, "no key frame in time");
                  }
                },
                node.config().keyTimeout().toMillis(),
                TimeUnit.MILLISECONDS);
    long ping = node.config().pingInterval().toMillis();
    pingTimer =
        ctx.executor().scheduleWithFixedDelay(this::keepalive, ping, ping, TimeUnit.MILLISECONDS);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof WebSocketServerProtocolHandler.HandshakeComplete
        && ctx.pipeline().get(PipelineNames.WS_PROTOCOL) != null) {
      // Its work is done; control frames are answered here from now on.
      ctx.pipeline().remove(PipelineNames.WS_PROTOCOL);
    }
    super.userEventTriggered(ctx, evt);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof WebSocketFrame frame)) {
      ctx.fireChannelRead(msg);
      return;
    }
    try {
      long now = System.nanoTime();
      lastReadNanos = now;
      pinged = false;
      if (frame instanceof CloseWebSocketFrame close) {
        // A code no peer may send throws: the exception tail fails the connection, as it does
        // for the decoder's violations.
        ControlFrames.echoClose(ctx.channel(), close);
        return;
      }
      if (frame instanceof PongWebSocketFrame) {
        // The answer to the node's keepalive: it only proves the peer alive.
        return;
      }
      if (state == State.CLOSED || !take(now)) {
        return;
      }
      if (frame instanceof PingWebSocketFrame ping) {
        ControlFrames.pong(ctx.channel(), ping);
        return;
      }
      node.framesIn().inc();
      switch (state) {
        case AWAITING_KEY -> keyFrame(frame);
        // Reads are paused while the key is checked; a frame read with the key waits for its turn.
        case AUTHENTICATING -> owed++;
        case OPEN -> {
          if (consumer == null || consumer.snapshotting()) {
            // The snapshot comes first (right after the result): answered after its last frame.
            owed++;
          } else if (ctx.channel().isWritable()) {
            answer(ErrorCode.ALREADY_CONNECTED, ONE_WAY);
            flush();
          }
        }
        default -> {
          // Closing.
        }
      }
    } finally {
      frame.release();
    }
  }

  private void keyFrame(WebSocketFrame frame) {
    if (!(frame instanceof TextWebSocketFrame) || !frame.isFinalFragment()) {
      close(ErrorCode.NON_TEXT_FRAME, "send the key frame as one text frame");
      return;
    }
    KeyFrame key;
    long appId;
    try {
      key = AppCodec.decodeKey(frame.content());
      appId = parseAppId(appIdText);
    } catch (ProtocolException e) {
      close(e.code(), e.detail());
      return;
    }
    state = State.AUTHENTICATING;
    Channel ch = ctx.channel();
    Backpressure.pause(ch, Backpressure.BUSY);
    node.updates()
        .admit(appId, key.key(), key.since())
        .whenCompleteAsync(this::admitted, ctx.executor());
  }

  /**
   * Takes a token for a frame arriving at {@code nanos}; false when the frame is beyond the bucket
   * (drop it). Past the overdraft the socket is closed.
   */
  private boolean take(long nanos) {
    if (bucket.tryTake(nanos)) {
      return true;
    }
    // A dropped frame still drains the bucket, below empty, down to the overdraft.
    if (bucket.takeOverdrawn(nanos) < -node.config().frameOverdraft()) {
      close(ErrorCode.RATE_LIMIT_EXCEEDED, null);
    }
    return false;
  }

  static long parseAppId(String text) {
    // As on every route: digits without a leading zero, or UNKNOWN_APP.
    return org.presence.gateway.api.AppsApi.parseAppId(text);
  }

  private void admitted(AppUpdates.Admission a, Throwable failure) {
    if (failure != null) {
      ProtocolException pe = protocolException(failure);
      close(pe.code(), pe.detail());
      return;
    }
    if (state != State.AUTHENTICATING || !ctx.channel().isActive()) {
      a.release();
      return;
    }
    admission = a;
    state = State.OPEN;
    Connections.authenticated(ctx.channel());
    if (node.config().socketSendBuffer() > 0) {
      ctx.channel().config().setOption(ChannelOption.SO_SNDBUF, node.config().socketSendBuffer());
    }
    keyTimer.cancel(false);
    ByteBuf ok = ctx.alloc().buffer(16);
    AppCodec.writeResult(ok);
    send(ok);
    flush();
    consumer = a.start(this, null);
    if (!consumer.snapshotting()) {
      // Resumed with since: no snapshot to wait for.
      answerOwed();
    }
    Backpressure.resume(ctx.channel(), Backpressure.BUSY);
  }

  private ProtocolException protocolException(Throwable t) {
    Throwable e = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    if (e instanceof ProtocolException pe) {
      return pe;
    }
    LOG.error("update session on {} failed", ctx.channel(), e);
    return new ProtocolException(ErrorCode.SESSION_ABORTED, null);
  }

  /** Writes an error frame, not flushed. */
  private void answer(ErrorCode code, String detail) {
    node.metrics().error(code);
    ByteBuf buf = ctx.alloc().buffer(96);
    ErrorBody.write(code, code.reasonWith(detail), buf);
    send(buf);
  }

  /**
   * Writes the answers owed to frames that arrived before the snapshot was written, as the frames
   * themselves would have been answered: each only while the socket is writable.
   */
  private void answerOwed() {
    boolean wrote = false;
    while (owed > 0) {
      owed--;
      if (writable()) {
        answer(ErrorCode.ALREADY_CONNECTED, ONE_WAY);
        wrote = true;
      }
    }
    if (wrote) {
      flush();
    }
  }

  private void close(ErrorCode code, String detail) {
    if (state == State.CLOSED) {
      return;
    }
    state = State.CLOSED;
    node.disconnector().close(ctx.channel(), code, detail);
  }

  private void keepalive() {
    Channel ch = ctx.channel();
    if (!ch.isActive()) {
      return;
    }
    long silent = System.nanoTime() - lastReadNanos;
    long interval = node.config().pingInterval().toNanos();
    if (pinged && silent >= interval) {
      close(ErrorCode.PING_TIMEOUT, null);
    } else if (silent >= interval && ch.isWritable()) {
      pinged = true;
      ctx.writeAndFlush(new PingWebSocketFrame(), ctx.voidPromise());
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (ctx.channel().isWritable() && consumer != null) {
      consumer.pump();
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    state = State.CLOSED;
    if (keyTimer != null) {
      keyTimer.cancel(false);
    }
    if (pingTimer != null) {
      pingTimer.cancel(false);
    }
    if (consumer != null) {
      consumer.close();
    }
    if (admission != null) {
      admission.release();
    }
    ctx.fireChannelInactive();
  }

  // ---- UpdateConsumer.Sink (event loop) ----

  @Override
  public EventExecutor executor() {
    return ctx.executor();
  }

  @Override
  public ByteBufAllocator alloc() {
    return ctx.alloc();
  }

  @Override
  public boolean writable() {
    return state == State.OPEN && ctx.channel().isWritable();
  }

  @Override
  public void send(ByteBuf frame) {
    node.framesOut().inc();
    ctx.write(new TextWebSocketFrame(frame), ctx.voidPromise());
  }

  @Override
  public void flush() {
    ctx.flush();
  }

  @Override
  public long pendingBytes() {
    var out = ctx.channel().unsafe().outboundBuffer();
    return out == null ? 0 : out.totalPendingWriteBytes();
  }

  @Override
  public void fail(ErrorCode code, String detail) {
    close(code, detail);
  }

  @Override
  public void snapshotWritten() {
    answerOwed();
  }
}
