package org.presence.daemon.dbus;

import java.util.List;
import java.util.Map;
import org.freedesktop.dbus.annotations.DBusInterfaceName;
import org.freedesktop.dbus.exceptions.DBusException;
import org.freedesktop.dbus.interfaces.DBusInterface;
import org.freedesktop.dbus.messages.DBusSignal;
import org.freedesktop.dbus.types.UInt32;
import org.freedesktop.dbus.types.Variant;

/**
 * The desktop notification service ({@code org.freedesktop.Notifications} at {@code
 * /org/freedesktop/Notifications} on the session bus), as far as the daemon uses it: the Desktop
 * Notifications Specification 1.2.
 */
@DBusInterfaceName("org.freedesktop.Notifications")
public interface Notifications extends DBusInterface {
  /** The well-known bus name and object path of the service. */
  String BUS_NAME = "org.freedesktop.Notifications";

  String OBJECT_PATH = "/org/freedesktop/Notifications";

  /**
   * Shows a notification; answers its id. {@code actions} alternates keys and labels; {@code
   * expireTimeout} is in milliseconds, -1 for the server's default, 0 for never (boxed: {@code
   * callWithCallback} finds the method by its arguments' classes).
   */
  UInt32 Notify(
      String appName,
      UInt32 replacesId,
      String appIcon,
      String summary,
      String body,
      List<String> actions,
      Map<String, Variant<?>> hints,
      Integer expireTimeout);

  /** Closes a notification (the server emits NotificationClosed with reason 3). */
  void CloseNotification(UInt32 id);

  /** The user invoked the action {@code actionKey} of notification {@code id}. */
  class ActionInvoked extends DBusSignal {
    private final UInt32 id;
    private final String actionKey;

    public ActionInvoked(String path, UInt32 id, String actionKey) throws DBusException {
      super(path, id, actionKey);
      this.id = id;
      this.actionKey = actionKey;
    }

    public UInt32 getId() {
      return id;
    }

    public String getActionKey() {
      return actionKey;
    }
  }

  /**
   * Notification {@code id} is gone: {@code reason} 1 expired, 2 dismissed by the user, 3 closed by
   * CloseNotification, 4 other.
   */
  class NotificationClosed extends DBusSignal {
    /** The user closed the notification. */
    public static final long DISMISSED_BY_USER = 2;

    private final UInt32 id;
    private final UInt32 reason;

    public NotificationClosed(String path, UInt32 id, UInt32 reason) throws DBusException {
      super(path, id, reason);
      this.id = id;
      this.reason = reason;
    }

    public UInt32 getId() {
      return id;
    }

    public UInt32 getReason() {
      return reason;
    }
  }
}
