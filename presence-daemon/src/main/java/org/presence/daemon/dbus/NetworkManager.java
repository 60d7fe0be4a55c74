package org.presence.daemon.dbus;

import org.freedesktop.dbus.annotations.DBusInterfaceName;
import org.freedesktop.dbus.exceptions.DBusException;
import org.freedesktop.dbus.interfaces.DBusInterface;
import org.freedesktop.dbus.messages.DBusSignal;
import org.freedesktop.dbus.types.UInt32;

/**
 * NetworkManager ({@code org.freedesktop.NetworkManager} at {@code /org/freedesktop/NetworkManager}
 * on the system bus), for its {@code StateChanged} signal.
 */
@DBusInterfaceName("org.freedesktop.NetworkManager")
public interface NetworkManager extends DBusInterface {
  String OBJECT_PATH = "/org/freedesktop/NetworkManager";

  /** {@code NM_STATE_CONNECTED_GLOBAL}: the machine reaches the internet. */
  long CONNECTED_GLOBAL = 70;

  /** The overall networking state changed to {@code state}. */
  class StateChanged extends DBusSignal {
    private final UInt32 state;

    public StateChanged(String path, UInt32 state) throws DBusException {
      super(path, state);
      this.state = state;
    }

    public UInt32 getState() {
      return state;
    }
  }
}
