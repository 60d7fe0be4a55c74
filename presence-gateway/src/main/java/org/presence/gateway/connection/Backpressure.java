package org.presence.gateway.connection;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
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
 * open-connections gauge, which it decrements at {@code channelInactive}) and its slot in its
 * address's counts ({@link AddressCaps}, given back then), so that a connection needs no channel
 * attribute for them.
 *
 * <p>A connection's last handler may do this work itself instead ({@link #takeOver}): it extends
 * this class and, once it holds the connection for good, takes the state of the {@code
 * backpressure} handler, which leaves the pipeline. The device channel does so once its WebSocket
 * is up, which saves a handler and its pipeline entry per idle socket. The pipeline's first {@code
 * Backpressure} is the connection's ({@link #of}); a subclass that has not taken over yet does
 * nothing of it.
 *
 * <p>It is a duplex handler only so that a last handler that takes over may also handle writes;
 * this class handles none (Netty passes writes by a handler that does not override them).
 *
 * <p>One instance per channel; all its methods run on the channel's event loop.
 */
@OnEventLoop
public class Backpressure extends ChannelDuplexHandler {
  /** The channel is not writable. */
  static final int UNWRITABLE = 1;

  /** A request is being answered or a session's credentials are being checked. */
  public static final int BUSY = 2;

  /** Too many answers are waiting for asynchronous work. */
  public static final int PENDING = 4;

  /** A request's header is being checked before its body is read. */
  public static final int HEADER_CHECK = 8;

  /** Set in {@link #paused} once the connection is being closed: nothing pauses reads any more. */
  private static final int CLOSING = 1 << 30;

  /**
   * What every connection's handler shares: how long a channel may stay unwritable, and the action
   * that ends it then.
   *
   * @param unwritableTimeoutMillis how long a channel may stay unwritable before {@code onStall}
   * @param onStall ends a channel that stayed unwritable too long
   */
  public record Stall(long unwritableTimeoutMillis, Consumer<Channel> onStall) {}

  /** {@code null} in a subclass that has not {@linkplain #takeOver taken over} yet: inert. */
  private Stall limits;

  /** The reasons reads are paused, or {@link #CLOSING}. */
  private int paused;

  private ScheduledFuture<?> stall;

  /**
   * The connection's state for {@link Connections}; {@code null} until it is registered. (The
   * handler keeps no channel of its own, and the stall settings are shared: it is 32 B.)
   */
  private Connections.State connectionState;

  /** The connection's place in its address's counts ({@link AddressCaps}), or {@code null}. */
  private AddressCaps.Slot addressSlot;

  /**
   * @param unwritableTimeoutMillis how long a channel may stay unwritable before {@code onStall}
   * @param onStall ends a channel that stayed unwritable too long (shared by all channels)
   */
  public Backpressure(long unwritableTimeoutMillis, Consumer<Channel> onStall) {
    this(new Stall(unwritableTimeoutMillis, onStall));
  }

  /** A connection's handler with the node's shared {@code limits}. */
  public Backpressure(Stall limits) {
    this.limits = limits;
  }

  /**
   * A connection's handler with the node's shared {@code limits}, holding the connection's {@code
   * slot} in its address's counts ({@code null}: not counted), given back when it closes.
   */
  public Backpressure(Stall limits, AddressCaps.Slot slot) {
    this.limits = limits;
    this.addressSlot = slot;
  }

  /**
   * For a connection's last handler that becomes its backpressure later ({@link #takeOver}); until
   * then it does none of this work.
   */
  protected Backpressure() {}

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

  /** Whether {@code ch} is being closed ({@link #closing(Channel)}): nothing more is handled. */
  public static boolean isClosing(Channel ch) {
    Backpressure b = of(ch);
    return b != null && b.closing();
  }

  /**
   * The connection's handler: the first {@code Backpressure} of its pipeline ({@code backpressure},
   * first, so found at once; or the last handler that took its place), or {@code null}.
   */
  static Backpressure of(Channel ch) {
    return ch.pipeline().get(Backpressure.class);
  }

  /**
   * Makes this handler (a connection's last) the connection's backpressure: it takes the state of
   * the {@code Backpressure} ahead of it in the pipeline (pause reasons, a running stall timer, the
   * connection's state and gauge), which leaves the pipeline. Nothing happens when there is none
   * (this one then stays inert, and pauses set reads directly as they do without a handler).
   */
  protected final void takeOver(ChannelHandlerContext ctx) {
    Backpressure first = of(ctx.channel());
    if (first == null || first == this) {
      return;
    }
    limits = first.limits;
    paused = first.paused;
    stall = first.stall;
    connectionState = first.connectionState;
    addressSlot = first.addressSlot;
    first.limits = null;
    first.stall = null;
    first.connectionState = null;
    first.addressSlot = null;
    ctx.pipeline().remove(first);
  }

  Connections.State connectionState() {
    return connectionState;
  }

  void connectionState(Connections.State state) {
    this.connectionState = state;
  }

  AddressCaps.Slot addressSlot() {
    return addressSlot;
  }

  /** Whether the connection is being closed ({@link #closing(Channel)}). */
  protected final boolean closing() {
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
    if (limits != null && !closing()) {
      Channel ch = ctx.channel();
      if (ch.isWritable()) {
        cancelStall();
        set(ch, UNWRITABLE, false);
      } else {
        set(ch, UNWRITABLE, true);
        if (stall == null && ch.isActive()) {
          stall =
              ctx.executor()
                  .schedule(
                      () -> stalled(ch), limits.unwritableTimeoutMillis(), TimeUnit.MILLISECONDS);
        }
      }
    }
    ctx.fireChannelWritabilityChanged();
  }

  /**
   * The stall timer of {@code channel} ran out: it goes to its handler now (the one that took
   * over).
   */
  private static void stalled(Channel channel) {
    Backpressure b = of(channel);
    if (b == null || b.limits == null) {
      return;
    }
    b.stall = null;
    if (!b.closing() && channel.isActive() && !channel.isWritable()) {
      b.limits.onStall().accept(channel);
    }
  }

  private void cancelStall() {
    if (stall != null) {
      stall.cancel(false);
      stall = null;
    }
  }

  /**
   * The connection closed: its stall timer stops, its gauge counts it closed and its address's
   * counts let it go. Called once, at {@code channelInactive}; a subclass that handles that event
   * itself calls it there.
   */
  protected final void connectionClosed() {
    cancelStall();
    if (connectionState != null) {
      connectionState.open.dec();
    }
    if (addressSlot != null) {
      addressSlot.closed();
      addressSlot = null;
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    connectionClosed();
    ctx.fireChannelInactive();
  }
}
