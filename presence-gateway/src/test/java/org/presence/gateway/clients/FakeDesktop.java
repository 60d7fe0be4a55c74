package org.presence.gateway.clients;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.freedesktop.dbus.connections.impl.DBusConnection;
import org.freedesktop.dbus.connections.impl.DBusConnectionBuilder;
import org.freedesktop.dbus.exceptions.DBusException;
import org.freedesktop.dbus.interfaces.Properties;
import org.freedesktop.dbus.types.UInt32;
import org.freedesktop.dbus.types.UInt64;
import org.freedesktop.dbus.types.Variant;
import org.presence.daemon.dbus.Login1Manager;
import org.presence.daemon.dbus.NetworkManager;
import org.presence.daemon.dbus.Notifications;

/**
 * The desktop's side for the daemon's tests, on a {@link TestBus}: a notification server owning
 * {@code org.freedesktop.Notifications} that records every Notify and invokes actions as a user
 * would, and a stand-in for systemd-logind ({@code org.freedesktop.login1}) whose session {@code
 * auto} has idle hints the test sets and whose manager sends {@code PrepareForSleep}, and
 * NetworkManager's {@code StateChanged}.
 */
final class FakeDesktop implements AutoCloseable {
  /** One Notify call. */
  record Shown(
      long id, String appName, String summary, String body, List<String> actions, int timeout) {}

  final List<Shown> shown = new CopyOnWriteArrayList<>();

  /**
   * While set, each Notify is recorded (shown) and then answered only once the test releases it: a
   * notification service slower than any bound, that shows a notification before it answers.
   */
  private volatile CountDownLatch held;

  private final DBusConnection conn;
  private final AtomicLong ids = new AtomicLong();
  private volatile boolean idleHint;
  private volatile long idleSinceMicros;

  FakeDesktop(String address) throws DBusException {
    conn = DBusConnectionBuilder.forAddress(address).withShared(false).build();
    conn.requestBusName(Notifications.BUS_NAME);
    conn.exportObject(Notifications.OBJECT_PATH, new Server());
    conn.requestBusName(Login1Manager.BUS_NAME);
    conn.exportObject(Login1Manager.OBJECT_PATH + "/session/auto", new Session());
  }

  /** From now on each Notify waits, after it is recorded, until {@link #answerNotify()}. */
  void holdNotify() {
    held = new CountDownLatch(1);
  }

  /** Notify calls waiting answer, and later ones answer at once. */
  void answerNotify() {
    CountDownLatch h = held;
    held = null;
    if (h != null) {
      h.countDown();
    }
  }

  /** The user is active (logind's hint cleared, as the desktop does). */
  void active() {
    idleHint = false;
    idleSinceMicros = System.currentTimeMillis() * 1000;
  }

  /** The user has been idle for {@code minutes}. */
  void idleFor(long minutes) {
    idleSinceMicros = (System.currentTimeMillis() - minutes * 60_000) * 1000;
    idleHint = true;
  }

  /** The user clicks {@code action} on notification {@code id}; the server then closes it. */
  void invoke(long id, String action) throws DBusException {
    conn.sendMessage(
        new Notifications.ActionInvoked(Notifications.OBJECT_PATH, new UInt32(id), action));
    conn.sendMessage(
        new Notifications.NotificationClosed(
            Notifications.OBJECT_PATH, new UInt32(id), new UInt32(2)));
  }

  /** The user closes notification {@code id} without choosing an action. */
  void closeByUser(long id) throws DBusException {
    conn.sendMessage(
        new Notifications.NotificationClosed(
            Notifications.OBJECT_PATH, new UInt32(id), new UInt32(2)));
  }

  /** logind's signal around a suspend: {@code true} before, {@code false} after. */
  void prepareForSleep(boolean start) throws DBusException {
    conn.sendMessage(new Login1Manager.PrepareForSleep(Login1Manager.OBJECT_PATH, start));
  }

  /** NetworkManager's signal: the overall networking state is now {@code state}. */
  void networkState(long state) throws DBusException {
    conn.sendMessage(
        new NetworkManager.StateChanged(NetworkManager.OBJECT_PATH, new UInt32(state)));
  }

  @Override
  public void close() {
    answerNotify();
    conn.disconnect();
  }

  private final class Server implements Notifications {
    @Override
    public UInt32 Notify(
        String appName,
        UInt32 replacesId,
        String appIcon,
        String summary,
        String body,
        List<String> actions,
        Map<String, Variant<?>> hints,
        Integer expireTimeout) {
      long id = ids.incrementAndGet();
      shown.add(new Shown(id, appName, summary, body, List.copyOf(actions), expireTimeout));
      CountDownLatch h = held;
      if (h != null) {
        try {
          h.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return new UInt32(id);
    }

    @Override
    public void CloseNotification(UInt32 id) {}

    @Override
    public String getObjectPath() {
      return Notifications.OBJECT_PATH;
    }
  }

  /** A logind session object: only the idle hints. */
  private final class Session implements Properties {
    @SuppressWarnings("unchecked")
    @Override
    public <A> A Get(String iface, String name) {
      return (A)
          switch (name) {
            case "IdleHint" -> Boolean.valueOf(idleHint);
            case "IdleSinceHint" -> new UInt64(idleSinceMicros);
            default -> throw new IllegalArgumentException("no property " + name);
          };
    }

    @Override
    public <A> void Set(String iface, String name, A value) {
      throw new UnsupportedOperationException("read-only");
    }

    @Override
    public Map<String, Variant<?>> GetAll(String iface) {
      return Map.of(
          "IdleHint",
          new Variant<>(idleHint),
          "IdleSinceHint",
          new Variant<>(new UInt64(idleSinceMicros)));
    }

    @Override
    public String getObjectPath() {
      return Login1Manager.OBJECT_PATH + "/session/auto";
    }
  }
}
