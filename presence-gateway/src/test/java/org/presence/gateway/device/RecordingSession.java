package org.presence.gateway.device;

import io.netty.channel.Channel;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.queue.Notification;

/**
 * An open device session for tests of other packages (live notifications): registered in a {@link
 * DeviceRegistry} as a session handler would be, it records every push, and the test decides when
 * (and whether) a push reaches the socket by calling its {@link NotificationSink.Written}. It has
 * no channel: only what finds sessions to push to may use it.
 */
public final class RecordingSession implements DeviceRegistry.Link, NotificationSink {
  /** One push: the items and whom to tell once they are written. */
  public record Push(List<Notification> items, Written written) {}

  private final String user;
  private final UUID session;
  private final List<Push> pushes = new CopyOnWriteArrayList<>();

  private RecordingSession(String user, UUID session) {
    this.user = user;
    this.session = session;
  }

  /** A session of {@code user} with id {@code session}, open in {@code registry}. */
  public static RecordingSession open(DeviceRegistry registry, String user, UUID session) {
    RecordingSession s = new RecordingSession(user, session);
    registry.add(session, s);
    return s;
  }

  /** The session leaves {@code registry}. */
  public void close(DeviceRegistry registry) {
    registry.remove(session, this);
  }

  /** What was pushed so far, in order. */
  public List<Push> pushes() {
    return pushes;
  }

  @Override
  public String user() {
    return user;
  }

  @Override
  public UUID session() {
    return session;
  }

  @Override
  public void push(List<Notification> items, Written written) {
    pushes.add(new Push(List.copyOf(items), written));
  }

  @Override
  public Channel channel() {
    return null;
  }

  @Override
  public long lastReadNanos() {
    return System.nanoTime();
  }

  @Override
  public void replaced() {}

  @Override
  public void keepalive() {}

  @Override
  public void abort(ErrorCode code, String detail) {}

  @Override
  public void settings(DeviceMessage.Settings settings) {}

  @Override
  public String pairedDevice() {
    return "";
  }

  @Override
  public long identityDeadlineMillis() {
    return Long.MAX_VALUE;
  }

  @Override
  public void identityExpired() {}
}
