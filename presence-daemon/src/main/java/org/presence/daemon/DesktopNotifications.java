package org.presence.daemon;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.freedesktop.dbus.connections.impl.DBusConnection;
import org.freedesktop.dbus.exceptions.DBusException;
import org.freedesktop.dbus.exceptions.DBusExecutionException;
import org.freedesktop.dbus.types.UInt32;
import org.freedesktop.dbus.types.Variant;
import org.presence.client.DeviceClient;
import org.presence.daemon.dbus.Notifications;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Live notifications on the desktop through {@code org.freedesktop.Notifications}: each one shown
 * with the actions {@value #ACCEPT} and {@value #DISMISS} until it expires; the user's choice goes
 * back to {@link Answers}. Clicking the notification's body (the {@code default} action) accepts
 * it; closing it by hand dismisses it. Missed ones (their time to answer passed before they
 * arrived) are shown as "Missed: ..." without actions: there is nothing left to answer.
 */
public final class DesktopNotifications implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DesktopNotifications.class);

  /** The action keys the daemon offers. */
  public static final String ACCEPT = "accept";

  public static final String DISMISS = "dismiss";

  /** At most this many notifications wait for an answer; the oldest is forgotten beyond. */
  static final int MAX_SHOWN = 256;

  /** What the user did with a notification. Called on a D-Bus thread; must not block long. */
  public interface Answers {
    void accepted(DeviceClient.Notification n);

    void dismissed(DeviceClient.Notification n);
  }

  private final Notifications service;
  private final Answers answers;
  private final Map<Long, DeviceClient.Notification> shown = new ConcurrentHashMap<>();
  private final List<AutoCloseable> handlers;

  /** Shows notifications through the service on {@code sessionBus}. */
  public DesktopNotifications(DBusConnection sessionBus, Answers answers) throws DBusException {
    this.answers = answers;
    this.service =
        sessionBus.getRemoteObject(
            Notifications.BUS_NAME, Notifications.OBJECT_PATH, Notifications.class);
    this.handlers =
        List.of(
            sessionBus.addSigHandler(Notifications.ActionInvoked.class, this::invoked),
            sessionBus.addSigHandler(Notifications.NotificationClosed.class, this::closed));
  }

  /** Shows {@code n}; blocks for the service's answer (a D-Bus call). False when it failed. */
  public boolean show(DeviceClient.Notification n, long nowMillis) {
    String summary = n.missed() ? "Missed: " + n.source() : n.source();
    List<String> actions =
        n.missed() ? List.of() : List.of(ACCEPT, "Accept", DISMISS, "Dismiss", "default", "Open");
    long left = n.expiresMillis() - nowMillis;
    int timeout = n.missed() || left <= 0 ? -1 : (int) Math.min(left, Integer.MAX_VALUE);
    Map<String, Variant<?>> hints =
        Map.of("urgency", new Variant<>((byte) (n.missed() ? 0 : 1)), "category", v("im"));
    try {
      UInt32 id =
          service.Notify(
              "Presence",
              new UInt32(0),
              "",
              summary,
              markupEscaped(n.message()),
              actions,
              hints,
              timeout);
      if (!n.missed()) {
        if (shown.size() >= MAX_SHOWN) {
          shown.keySet().stream().min(Long::compare).ifPresent(shown::remove);
        }
        shown.put(id.longValue(), n);
      }
      return true;
    } catch (DBusExecutionException e) {
      LOG.warn("the desktop notification service refused a notification: {}", e.getMessage());
      return false;
    }
  }

  private static Variant<String> v(String s) {
    return new Variant<>(s);
  }

  /** The body may carry markup (the specification's subset): show the text as it is. */
  static String markupEscaped(String text) {
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  private void invoked(Notifications.ActionInvoked s) {
    DeviceClient.Notification n = shown.remove(s.getId().longValue());
    if (n == null) {
      return;
    }
    switch (s.getActionKey()) {
      case ACCEPT, "default" -> answers.accepted(n);
      case DISMISS -> answers.dismissed(n);
      default -> LOG.debug("unknown action {} on notification {}", s.getActionKey(), n.id());
    }
  }

  private void closed(Notifications.NotificationClosed s) {
    DeviceClient.Notification n = shown.remove(s.getId().longValue());
    if (n != null
        && s.getReason().longValue() == Notifications.NotificationClosed.DISMISSED_BY_USER) {
      answers.dismissed(n);
    }
  }

  @Override
  public void close() {
    for (AutoCloseable h : handlers) {
      try {
        h.close();
      } catch (Exception e) {
        // Closing anyway.
      }
    }
  }
}
