package org.presence.gateway.connection;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The {@code backpressure} handler, first in every connection's pipeline and kept for its whole
 * life (HTTP, WebSocket or stream): a connection whose peer does not read what it is sent stops
 * being read.
 *
 * <ul>
 *   <li>While the channel is not writable (its outbound bytes are over {@code
 *       gateway.write-buffer-high}), reads are paused; they resume once it drains under {@code
 *       gateway.write-buffer-low}. A client that sends without reading thus holds at most the write
 *       buffer and one read's worth of input, whatever it sends: the kernel's buffers fill and TCP
 *       stops it.
 *   <li>A channel that stays unwritable for {@code gateway.unwritable-timeout} is handed to the
 *       stall action (the node closes it with {@code SLOW_CONSUMER}, −6).
 * </ul>
 *
 * <p>Handlers that pause reads for their own reasons (a request being answered, a token being
 * checked, too many answers pending) do it through {@link #pause} and {@link #resume} with their
 * reason, so that reads resume only when no reason is left. Once the connection is being closed
 * ({@link #closing}), nothing pauses reads any more: what still arrives is read and dropped, so the
 * close does not leave unread input behind (which would make the kernel answer with a reset).
 *
 * <p>It also holds the connection's state for {@link Connections} (its kind and its
 * open-connections gauge, which it decrements at {@code channelInactive}), so that a connection
 * needs no channel attribute for it.
 *
 * <p>One instance per channel; all its methods run on the channel's event loop.
 */
@OnEventLoop
public final class Backpressure extends ChannelInboundHandlerAdapter {
  /** The channel is not writable. */
  static final int UNWRITABLE = 1;

  /** A request is being answered or a session's credentials are being checked. */
  public static final int BUSY = 2;

  /** Too many answers are waiting for asynchronous work. */
  public static final int PENDING = 4;

  /** Set in {@link #paused} once the connection is being closed: nothing pauses reads any more. */
  private static final int CLOSING = 1 << 30;

  private final long unwritableTimeoutMillis;
  private final Consumer<Channel> onStall;

  /** The reasons reads are paused, or {@link #CLOSING}. */
  private int paused;

  private ScheduledFuture<?> stall;

  /**
   * The connection's state for {@link Connections}; {@code null} until it is registered. (The
   * handler keeps no channel of its own: every caller has it at hand, which keeps it at 40 B.)
   */
  private Connections.State connectionState;

  /**
   * @param unwritableTimeoutMillis how long a channel may stay unwritable before {@code onStall}
   * @param onStall ends a channel that stayed unwritable too long (shared by all channels)
   */
  public Backpressure(long unwritableTimeoutMillis, Consumer<Channel> onStall) {
    this.unwritableTimeoutMillis = unwritableTimeoutMillis;
    this.onStall = onStall;
  }

  /** Pauses reads of {@code ch} for {@code reason} ({@link #BUSY}, {@link #PENDING}). */
  public static void pause(Channel ch, int reason) {
    Backpressure b = of(ch);
    if (b == null) {
      ch.config().setAutoRead(false);
    } else {
      b.set(ch, reason, true);
    }
  }

  /** Lifts {@code reason}; reads resume when no other reason holds them. */
  public static void resume(Channel ch, int reason) {
    Backpressure b = of(ch);
    if (b == null) {
      ch.config().setAutoRead(true);
    } else {
      b.set(ch, reason, false);
    }
  }

  /**
   * The channel is being closed: from now on it is read (and its input dropped by whoever closes
   * it) until it closes, whatever its writability.
   */
  public static void closing(Channel ch) {
    Backpressure b = of(ch);
    if (b != null) {
      b.cancelStall();
      b.paused = CLOSING;
    }
    ch.config().setAutoRead(true);
  }

  /** The handler of {@code ch} (first in its pipeline, so found at once), or {@code null}. */
  static Backpressure of(Channel ch) {
    return ch.pipeline().get(Backpressure.class);
  }

  Connections.State connectionState() {
    return connectionState;
  }

  void connectionState(Connections.State state) {
    this.connectionState = state;
  }

  private boolean closing() {
    return (paused & CLOSING) != 0;
  }

  private void set(Channel channel, int reason, boolean on) {
    if (closing()) {
      return;
    }
    int was = paused;
    paused = on ? paused | reason : paused & ~reason;
    if ((was == 0) != (paused == 0)) {
      channel.config().setAutoRead(paused == 0);
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (!closing()) {
      if (ctx.channel().isWritable()) {
        cancelStall();
        set(ctx.channel(), UNWRITABLE, false);
      } else {
        set(ctx.channel(), UNWRITABLE, true);
        if (stall == null && ctx.channel().isActive()) {
          stall =
              ctx.executor()
                  .schedule(
                      () -> stalled(ctx.channel()), unwritableTimeoutMillis, TimeUnit.MILLISECONDS);
        }
      }
    }
    ctx.fireChannelWritabilityChanged();
  }

  private void stalled(Channel channel) {
    stall = null;
    if (!closing() && channel.isActive() && !channel.isWritable()) {
      onStall.accept(channel);
    }
  }

  private void cancelStall() {
    if (stall != null) {
      stall.cancel(false);
      stall = null;
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancelStall();
    if (connectionState != null) {
      connectionState.open.dec();
    }
    ctx.fireChannelInactive();
  }
}
