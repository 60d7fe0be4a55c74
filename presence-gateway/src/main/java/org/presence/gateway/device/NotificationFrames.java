package org.presence.gateway.device;

import com.codahale.metrics.Counter;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.presence.gateway.connection.OnEventLoop;
import org.presence.gateway.error.Disconnector;
import org.presence.protocol.device.DeviceCodec;
import org.presence.protocol.device.DeviceMessage.LiveNotification;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.queue.Notification;

/**
 * The notification side of the device channel (wiki section 6), shared by the node's sessions:
 * skips the items a session was pushed lately ({@link RecentIds}), splits the rest into {@code
 * {"notifications": [...]}} frames of at most {@code frameItems} items and writes them, telling
 * {@link NotificationSink.Written} of each frame the socket took. A session whose socket is not
 * writable does not read what it is sent: it is closed ({@code SLOW_CONSUMER}) instead, its items
 * staying queued for its next session. Called on the session's event loop.
 */
@OnEventLoop
final class NotificationFrames {
  private final int frameItems;
  private final Counter framesOut;
  private final Disconnector disconnector;

  NotificationFrames(int frameItems, Counter framesOut, Disconnector disconnector) {
    this.frameItems = frameItems;
    this.framesOut = framesOut;
    this.disconnector = disconnector;
  }

  /** Most notifications in one frame. */
  int frameItems() {
    return frameItems;
  }

  /**
   * Pushes {@code items} to the open session on {@code ch}, skipping those in {@code recent}. Runs
   * on the channel's event loop; the frames are written through the whole pipeline (the session
   * handler encodes them).
   */
  void push(
      Channel ch, RecentIds recent, List<Notification> items, NotificationSink.Written written) {
    List<Notification> fresh = recent.fresh(items);
    if (fresh.isEmpty()) {
      return;
    }
    if (!ch.isWritable()) {
      // The device does not read what it is sent: its items stay queued for its next session.
      disconnector.close(ch, ErrorCode.SLOW_CONSUMER, null);
      return;
    }
    long now = System.currentTimeMillis();
    Instant at = Instant.ofEpochMilli(now);
    List<LiveNotification> wire = new ArrayList<>(fresh.size());
    for (Notification n : fresh) {
      wire.add(
          new LiveNotification(
              n.id(),
              n.appId(),
              n.source(),
              n.message(),
              n.action(),
              n.expiresAt().toEpochMilli(),
              n.missedAt(at)));
    }
    int from = 0;
    while (from < wire.size()) {
      ByteBuf buf = ch.alloc().buffer(4096);
      int count;
      try {
        count = DeviceCodec.encodeNotifications(wire, from, frameItems, buf);
      } catch (RuntimeException e) {
        buf.release();
        throw e;
      }
      framesOut.inc();
      List<Notification> sent = List.copyOf(fresh.subList(from, from + count));
      from += count;
      ch.writeAndFlush(new TextWebSocketFrame(buf))
          .addListener(
              f -> {
                if (f.isSuccess()) {
                  written.written(sent, now);
                }
              });
    }
  }
}
