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
 * (and whether) a push reaches the socket by calling its {@link NotificationSink.Written}. Without
 * a channel only what finds sessions to push to may use it; with one (any channel registered with
 * an event loop), what ends sessions may too, and {@link #aborts} records it.
 */
public final class RecordingSession implements DeviceRegistry.Link, NotificationSink {
  /** One push: the items and whom to tell once they are written. */
  public record Push(List<Notification> items, Written written) {}

  private final String user;
  private final UUID session;
  private final Channel channel;
  private final List<Push> pushes = new CopyOnWriteArrayList<>();
  private final List<ErrorCode> aborts = new CopyOnWriteArrayList<>();

  private RecordingSession(String user, UUID session, Channel channel) {
    this.user = user;
    this.session = session;
    this.channel = channel;
  }

  /** A session of {@code user} with id {@code session}, open in {@code registry}. */
  public static RecordingSession open(DeviceRegistry registry, String user, UUID session) {
    return open(registry, user, session, null);
  }

  /** As {@link #open(DeviceRegistry, String, UUID)}, on {@code channel}'s event loop. */
  public static RecordingSession open(
      DeviceRegistry registry, String user, UUID session, Channel channel) {
    RecordingSession s = new RecordingSession(user, session, channel);
    registry.add(session, s);
    return s;
  }

  /** The codes the session was ended with (by its event loop), in order. */
  public List<ErrorCode> aborts() {
    return aborts;
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
  public java.util.concurrent.Executor eventLoop() {
    return channel.eventLoop();
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
  public void abort(ErrorCode code, String detail) {
    aborts.add(code);
  }

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
