package org.presence.daemon.dbus;

import org.freedesktop.dbus.annotations.DBusInterfaceName;
import org.freedesktop.dbus.exceptions.DBusException;
import org.freedesktop.dbus.interfaces.DBusInterface;
import org.freedesktop.dbus.messages.DBusSignal;

/**
 * systemd-logind's manager ({@code org.freedesktop.login1} at {@code /org/freedesktop/login1} on
 * the system bus), for its {@code PrepareForSleep} signal.
 */
@DBusInterfaceName("org.freedesktop.login1.Manager")
public interface Login1Manager extends DBusInterface {
  String BUS_NAME = "org.freedesktop.login1";

  String OBJECT_PATH = "/org/freedesktop/login1";

  /** The interface of a session object, whose properties carry the idle hint. */
  String SESSION_INTERFACE = "org.freedesktop.login1.Session";

  /** Sent with {@code true} before the machine suspends or hibernates, {@code false} after. */
  class PrepareForSleep extends DBusSignal {
    private final boolean start;

    public PrepareForSleep(String path, boolean start) throws DBusException {
      super(path, start);
      this.start = start;
    }

    public boolean getStart() {
      return start;
    }
  }
}
