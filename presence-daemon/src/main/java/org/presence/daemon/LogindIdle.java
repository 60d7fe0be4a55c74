package org.presence.daemon;

import java.io.IOException;
import java.time.Duration;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.freedesktop.dbus.connections.impl.DBusConnection;
import org.freedesktop.dbus.exceptions.DBusException;
import org.freedesktop.dbus.exceptions.DBusExecutionException;
import org.freedesktop.dbus.interfaces.Properties;
import org.presence.daemon.dbus.Login1Manager;

/**
 * Idle time from systemd-logind: the session object's {@code IdleHint} and {@code IdleSinceHint}
 * (microseconds since the epoch) on the system bus, which the desktop (GNOME, KDE, a screen locker)
 * sets. A session whose desktop never set a hint ({@code IdleHint} false with {@code IdleSinceHint}
 * 0) tells nothing: {@link #idle()} answers {@code null}, and the daemon asks the X11 screensaver
 * extension instead. Also the source of {@code PrepareForSleep}: the daemon reconnects when the
 * machine wakes.
 */
public final class LogindIdle implements IdleSource {
  private final DBusConnection bus;
  private final String sessionPath;
  private final LongSupplier nowMicros;

  /**
   * The session {@code sessionId} ({@code $XDG_SESSION_ID}; {@code "auto"} for logind's choice: the
   * caller's session, or the user's graphical one for a systemd user service) on {@code bus}.
   */
  public LogindIdle(DBusConnection bus, String sessionId, LongSupplier nowMicros) {
    this.bus = bus;
    this.sessionPath = Login1Manager.OBJECT_PATH + "/session/" + escape(sessionId);
    this.nowMicros = nowMicros;
  }

  /** The session object's path for {@code sessionId}, escaped as sd-bus does. */
  static String escape(String label) {
    if (label.isEmpty()) {
      return "_";
    }
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < label.length(); i++) {
      char c = label.charAt(i);
      boolean plain =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9');
      if (plain) {
        b.append(c);
      } else {
        b.append('_').append(String.format(Locale.ROOT, "%02x", c & 0xff));
      }
    }
    return b.toString();
  }

  String sessionPath() {
    return sessionPath;
  }

  /**
   * The idle time the hints mean at {@code nowMicros}: zero while not idle, the time since {@code
   * idleSinceMicros} while idle, {@code null} when the desktop never set the hint.
   */
  static Duration fromHints(boolean idleHint, long idleSinceMicros, long nowMicros) {
    if (idleSinceMicros == 0) {
      return idleHint ? Duration.ZERO : null;
    }
    if (!idleHint) {
      return Duration.ZERO;
    }
    return Duration.ofNanos(Math.max(0, nowMicros - idleSinceMicros) * 1000);
  }

  @Override
  public Duration idle() throws IOException {
    try {
      Properties p = bus.getRemoteObject(Login1Manager.BUS_NAME, sessionPath, Properties.class);
      Object hint = p.Get(Login1Manager.SESSION_INTERFACE, "IdleHint");
      Object since = p.Get(Login1Manager.SESSION_INTERFACE, "IdleSinceHint");
      return fromHints(
          Boolean.TRUE.equals(hint),
          since instanceof Number n ? n.longValue() : 0,
          nowMicros.getAsLong());
    } catch (DBusException | DBusExecutionException e) {
      throw new IOException("logind: " + e.getMessage(), e);
    }
  }

  /**
   * Calls {@code sleeping} with {@code true} before the machine sleeps and {@code false} when it
   * woke; returns what stops it.
   */
  public AutoCloseable onSleep(Consumer<Boolean> sleeping) throws DBusException {
    return bus.addSigHandler(
        Login1Manager.PrepareForSleep.class, s -> sleeping.accept(s.getStart()));
  }
}
