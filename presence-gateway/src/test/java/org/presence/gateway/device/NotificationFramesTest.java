package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.presence.gateway.connection.Backpressure;
import org.presence.gateway.connection.Connections;
import org.presence.gateway.connection.PipelineNames;
import org.presence.gateway.error.Disconnector;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.protocol.device.DeviceFixtures;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.LiveNotification;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.queue.Notification;

/**
 * The notification sink of the device channel on an {@link EmbeddedChannel}: pushed items are
 * deduplicated per session, split into frames and written, every buffer released.
 */
class NotificationFramesTest {
  private final GatewayMetrics metrics = GatewayMetrics.create();
  private final List<List<String>> written = new CopyOnWriteArrayList<>();
  private final EmbeddedChannel ch = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
  private final NotificationFrames frames =
      new NotificationFrames(2, metrics.framesOut("device"), new Disconnector(metrics));

  @AfterEach
  void tearDown() {
    ch.finishAndReleaseAll();
  }

  private static Notification note(String id, Instant expires) {
    Instant now = Instant.now();
    return new Notification(id, 7, "p", "A", "m", "https://x.example", now, expires, false);
  }

  private static Notification note(String id) {
    return note(id, Instant.now().plusSeconds(60));
  }

  private void push(RecentIds recent, List<Notification> items) {
    frames.push(
        ch,
        recent,
        items,
        (sent, at) -> {
          List<String> ids = new ArrayList<>();
          sent.forEach(n -> ids.add(n.id()));
          written.add(ids);
        });
    ch.runPendingTasks();
  }

  /** The ids of each frame written, in order; each frame released. */
  private List<List<String>> framesWritten() {
    List<List<String>> out = new ArrayList<>();
    Object o;
    while ((o = ch.readOutbound()) != null) {
      TextWebSocketFrame f = (TextWebSocketFrame) o;
      try {
        DeviceMessage m = DeviceFixtures.reply(f.content());
        List<String> ids = new ArrayList<>();
        for (LiveNotification n : ((DeviceMessage.Notifications) m).notifications()) {
          ids.add(n.id());
        }
        out.add(ids);
      } finally {
        f.release();
      }
    }
    return out;
  }

  @Test
  void fiveItems_thenFramesOfTwo_eachReportedWritten() {
    push(new RecentIds(), List.of(note("a"), note("b"), note("c"), note("d"), note("e")));
    List<List<String>> expected = List.of(List.of("a", "b"), List.of("c", "d"), List.of("e"));
    assertThat(framesWritten()).isEqualTo(expected);
    assertThat(written).isEqualTo(expected);
    assertThat(metrics.framesOut("device").getCount()).isEqualTo(3);
  }

  @Test
  void itemsPushedTwiceToOneSession_thenWrittenOnce_otherSessionsGetThemToo() {
    RecentIds recent = new RecentIds();
    push(recent, List.of(note("a"), note("b")));
    push(recent, List.of(note("b"), note("c"), note("a")));
    assertThat(framesWritten()).containsExactly(List.of("a", "b"), List.of("c"));
    push(recent, List.of(note("c")));
    assertThat(framesWritten()).isEmpty();
    push(new RecentIds(), List.of(note("c")));
    assertThat(framesWritten()).containsExactly(List.of("c"));
  }

  @Test
  void recentIds_rememberTheLast64Only() {
    RecentIds recent = new RecentIds();
    assertThat(recent.remember("first")).isTrue();
    assertThat(recent.remember("first")).isFalse();
    for (int i = 0; i < RecentIds.SIZE - 1; i++) {
      assertThat(recent.remember("n" + i)).isTrue();
    }
    assertThat(recent.remember("first")).isFalse();
    assertThat(recent.remember("one more")).isTrue();
    // "first" was the oldest: pushed again, it is written again.
    assertThat(recent.remember("first")).isTrue();
  }

  @Test
  void pastItsTtl_thenPushedAsMissed() {
    push(new RecentIds(), List.of(note("old", Instant.now().minusSeconds(1))));
    TextWebSocketFrame f = ch.readOutbound();
    try {
      DeviceMessage m = DeviceFixtures.reply(f.content());
      assertThat(((DeviceMessage.Notifications) m).notifications().get(0).missed()).isTrue();
    } finally {
      f.release();
    }
  }

  @Test
  void socketNotWritable_thenClosedSlowConsumer_andNoItemWritten() {
    Connections connections = new Connections(metrics);
    ch.pipeline().addFirst(PipelineNames.BACKPRESSURE, new Backpressure(1000, c -> {}));
    connections.opened(ch);
    connections.upgraded(ch, Connections.Kind.DEVICE, c -> {});
    ch.config().setWriteBufferWaterMark(new io.netty.channel.WriteBufferWaterMark(1, 2));
    // Written, not flushed: the socket holds more than its high water mark.
    ch.write(Unpooled.wrappedBuffer(new byte[16]));
    assertThat(ch.isWritable()).isFalse();
    push(new RecentIds(), List.of(note("a")));
    ch.flush();
    ByteBuf unflushed = ch.readOutbound();
    unflushed.release();
    Object error = ch.readOutbound();
    try {
      assertThat(DeviceFixtures.reply(((TextWebSocketFrame) error).content()))
          .isEqualTo(DeviceMessage.ErrorReply.of(ErrorCode.SLOW_CONSUMER, null));
    } finally {
      ((TextWebSocketFrame) error).release();
    }
    CloseWebSocketFrame close = ch.readOutbound();
    try {
      assertThat(close.statusCode()).isEqualTo(ErrorCode.SLOW_CONSUMER.closeCode());
    } finally {
      close.release();
    }
    assertThat(written).isEmpty();
  }
}
