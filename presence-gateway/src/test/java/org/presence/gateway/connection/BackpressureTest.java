package org.presence.gateway.connection;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.presence.gateway.metrics.GatewayMetrics;

/**
 * The backpressure handler on an {@link EmbeddedChannel} with tiny water marks (8/16 bytes): reads
 * pause while the channel is unwritable or any handler holds them, and a channel unwritable past
 * the bound goes to the stall action.
 */
class BackpressureTest {
  private final List<Channel> stalled = new ArrayList<>();
  private EmbeddedChannel ch;

  @BeforeEach
  void setUp() {
    ch = new EmbeddedChannel();
    ch.freezeTime();
    ch.config().setOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(8, 16));
    ch.pipeline().addFirst("backpressure", new Backpressure(1000, stalled::add));
  }

  @AfterEach
  void tearDown() {
    ch.finishAndReleaseAll();
  }

  /** Queues 32 bytes without flushing: the channel becomes unwritable. */
  private void fill() {
    ch.write(Unpooled.wrappedBuffer(new byte[32]));
    assertThat(ch.isWritable()).isFalse();
  }

  /** Writes out what is queued: the channel becomes writable. */
  private void drain() {
    ch.flush();
    ch.releaseOutbound();
    assertThat(ch.isWritable()).isTrue();
  }

  @Test
  void unwritable_thenReadsPause_untilItDrains() {
    fill();
    assertThat(ch.config().isAutoRead()).isFalse();
    drain();
    assertThat(ch.config().isAutoRead()).isTrue();
  }

  @Test
  void readsResumeOnlyWhenNoReasonIsLeft() {
    Backpressure.pause(ch, Backpressure.BUSY);
    fill();
    Backpressure.resume(ch, Backpressure.BUSY);
    assertThat(ch.config().isAutoRead()).as("still unwritable").isFalse();
    Backpressure.pause(ch, Backpressure.PENDING);
    drain();
    assertThat(ch.config().isAutoRead()).as("answers still pending").isFalse();
    Backpressure.resume(ch, Backpressure.PENDING);
    assertThat(ch.config().isAutoRead()).isTrue();
  }

  @Test
  void unwritablePastTheBound_thenStalled_drainedBefore_thenNot() {
    fill();
    ch.advanceTimeBy(900, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    drain();
    fill();
    ch.advanceTimeBy(900, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    assertThat(stalled).as("never unwritable for a whole second").isEmpty();
    ch.advanceTimeBy(200, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    assertThat(stalled).containsExactly(ch);
  }

  @Test
  void closing_thenReadWhateverItsWritability() {
    fill();
    Backpressure.closing(ch);
    assertThat(ch.config().isAutoRead()).isTrue();
    Backpressure.pause(ch, Backpressure.BUSY);
    assertThat(ch.config().isAutoRead()).isTrue();
    ch.advanceTimeBy(2, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
    assertThat(stalled).as("the linger bounds a closing channel, not the stall").isEmpty();
  }

  /** A connection's last handler that takes the backpressure handler's work over on an event. */
  private static final class Tail extends Backpressure {
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      takeOver(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      connectionClosed();
      ctx.fireChannelInactive();
    }
  }

  @Test
  void aLastHandlerThatTakesOver_isTheConnectionsBackpressure_andTheFirstOneLeaves() {
    GatewayMetrics metrics = GatewayMetrics.create();
    Connections connections = new Connections(metrics);
    connections.opened(ch);
    connections.upgraded(ch, Connections.Kind.DEVICE, c -> {});
    Tail tail = new Tail();
    ch.pipeline().addLast("tail", tail);
    // Before it takes over, it does nothing of the work: the first handler does it.
    fill();
    assertThat(Backpressure.of(ch)).isNotSameAs(tail);
    assertThat(ch.config().isAutoRead()).isFalse();
    ch.advanceTimeBy(900, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    Backpressure.pause(ch, Backpressure.BUSY);

    ch.pipeline().fireUserEventTriggered("up");
    assertThat(ch.pipeline().names()).doesNotContain("backpressure").contains("tail");
    assertThat(Backpressure.of(ch)).isSameAs(tail);
    assertThat(Connections.kindOf(ch)).isEqualTo(Connections.Kind.DEVICE);
    // The stall timer started before runs on: unwritable for a whole second in all.
    ch.advanceTimeBy(200, TimeUnit.MILLISECONDS);
    ch.runScheduledPendingTasks();
    assertThat(stalled).containsExactly(ch);
    // The pause reasons came along: drained, but still busy.
    drain();
    assertThat(ch.config().isAutoRead()).isFalse();
    Backpressure.resume(ch, Backpressure.BUSY);
    assertThat(ch.config().isAutoRead()).isTrue();
    fill();
    assertThat(ch.config().isAutoRead()).as("paused by the handler that took over").isFalse();
    drain();

    assertThat(metrics.connectionsOpen(Connections.Kind.DEVICE.label()).getValue()).isEqualTo(1);
    ch.close();
    assertThat(metrics.connectionsOpen(Connections.Kind.DEVICE.label()).getValue()).isZero();
    assertThat(metrics.connectionsOpen(Connections.Kind.HTTP.label()).getValue()).isZero();
  }

  @Test
  void aLastHandlerWithNoBackpressureAhead_staysInert() {
    EmbeddedChannel bare = new EmbeddedChannel();
    try {
      bare.config()
          .setOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(8, 16));
      bare.pipeline().addLast("tail", new Tail());
      bare.pipeline().fireUserEventTriggered("up");
      bare.write(Unpooled.wrappedBuffer(new byte[32]));
      assertThat(bare.isWritable()).isFalse();
      assertThat(bare.config().isAutoRead()).as("no backpressure on this channel").isTrue();
      Backpressure.pause(bare, Backpressure.BUSY);
      assertThat(bare.config().isAutoRead()).isFalse();
      Backpressure.resume(bare, Backpressure.BUSY);
      assertThat(bare.config().isAutoRead()).isTrue();
    } finally {
      bare.finishAndReleaseAll();
    }
  }
}
