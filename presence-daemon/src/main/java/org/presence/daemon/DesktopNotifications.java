package org.presence.daemon;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import org.freedesktop.dbus.connections.impl.DBusConnection;
import org.freedesktop.dbus.exceptions.DBusException;
import org.freedesktop.dbus.exceptions.DBusExecutionException;
import org.freedesktop.dbus.interfaces.CallbackHandler;
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
 * arrived, or while they waited here) are shown as "Missed: ..." without actions: there is nothing
 * left to answer.
 *
 * <p>{@link #show} only queues: one thread of its own ({@code presence-notify}) calls {@code
 * Notify}, one call at a time in the order shown, and waits up to {@link #NOTIFY_WAIT} for each
 * answer, so a slow notification service delays only notifications, never the daemon's thread. At
 * most {@link #MAX_QUEUED} wait; beyond, the oldest waiting one is dropped (and logged). An answer
 * that comes after the wait still counts: the call is asynchronous, and its id is kept for the
 * user's Accept or Dismiss.
 */
public final class DesktopNotifications implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DesktopNotifications.class);

  /** The action keys the daemon offers. */
  public static final String ACCEPT = "accept";

  public static final String DISMISS = "dismiss";

  /** At most this many notifications wait for an answer; the oldest is forgotten beyond. */
  static final int MAX_SHOWN = 256;

  /** At most this many notifications wait to be shown; the oldest is dropped beyond. */
  static final int MAX_QUEUED = 32;

  /** How long the thread waits for a {@code Notify} answer before it sends the next one. */
  static final long NOTIFY_WAIT_MILLIS = 25_000;

  /** What the user did with a notification. Called on a D-Bus thread; must not block long. */
  public interface Answers {
    void accepted(DeviceClient.Notification n);

    void dismissed(DeviceClient.Notification n);
  }

  private final Notifications service;
  private final Answers answers;
  private final Map<Long, DeviceClient.Notification> shown = new ConcurrentHashMap<>();
  private final List<AutoCloseable> handlers;
  private final DBusConnection bus;
  private final LongSupplier clock;
  private final Deque<DeviceClient.Notification> queue = new ArrayDeque<>(); // guarded by itself
  private final Thread worker;
  private volatile boolean closed;

  /** Shows notifications through the service on {@code sessionBus}. */
  public DesktopNotifications(DBusConnection sessionBus, Answers answers) throws DBusException {
    this(sessionBus, answers, System::currentTimeMillis);
  }

  /** Likewise, with {@code clock} (milliseconds since the epoch) for the notifications' expiry. */
  public DesktopNotifications(DBusConnection sessionBus, Answers answers, LongSupplier clock)
      throws DBusException {
    this.answers = answers;
    this.bus = sessionBus;
    this.clock = clock;
    this.service =
        sessionBus.getRemoteObject(
            Notifications.BUS_NAME, Notifications.OBJECT_PATH, Notifications.class);
    this.handlers =
        List.of(
            sessionBus.addSigHandler(Notifications.ActionInvoked.class, this::invoked),
            sessionBus.addSigHandler(Notifications.NotificationClosed.class, this::closed));
    this.worker = new Thread(this::work, "presence-notify");
    worker.setDaemon(true);
    worker.start();
  }

  /**
   * Queues {@code n} to be shown after those queued before it; does not block. When {@link
   * #MAX_QUEUED} already wait, the oldest of them is dropped.
   */
  public void show(DeviceClient.Notification n) {
    DeviceClient.Notification dropped = null;
    synchronized (queue) {
      if (closed) {
        return;
      }
      if (queue.size() >= MAX_QUEUED) {
        dropped = queue.pollFirst();
      }
      queue.addLast(n);
      queue.notifyAll();
    }
    if (dropped != null) {
      LOG.warn(
          "the desktop notification service is slow: {} notifications wait; notification {} not"
              + " shown",
          MAX_QUEUED,
          dropped.id());
    }
  }

  private void work() {
    while (true) {
      DeviceClient.Notification n;
      synchronized (queue) {
        while (queue.isEmpty() && !closed) {
          try {
            queue.wait();
          } catch (InterruptedException e) {
            return;
          }
        }
        if (closed) {
          return;
        }
        n = queue.pollFirst();
      }
      CompletableFuture<Boolean> answered = send(n, clock.getAsLong());
      try {
        answered.get(NOTIFY_WAIT_MILLIS, TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        LOG.warn(
            "the desktop notification service did not answer within {} s; showing the next"
                + " notification",
            NOTIFY_WAIT_MILLIS / 1000);
      } catch (InterruptedException e) {
        return;
      } catch (Exception e) {
        // send() completes normally.
      }
    }
  }

  /**
   * Calls {@code Notify} for {@code n} without waiting; the future completes when the service
   * answers (false: refused). The id is kept whenever the answer comes.
   */
  private CompletableFuture<Boolean> send(DeviceClient.Notification n, long nowMillis) {
    long left = n.expiresMillis() - nowMillis;
    boolean missed = n.missed() || left <= 0; // its time to answer passed while it waited here
    int timeout = missed ? -1 : (int) Math.min(left, Integer.MAX_VALUE);
    String summary = missed ? "Missed: " + n.source() : n.source();
    List<String> actions =
        missed ? List.of() : List.of(ACCEPT, "Accept", DISMISS, "Dismiss", "default", "Open");
    Map<String, Variant<?>> hints =
        Map.of("urgency", new Variant<>((byte) (missed ? 0 : 1)), "category", v("im"));
    CompletableFuture<Boolean> answered = new CompletableFuture<>();
    CallbackHandler<UInt32> reply =
        new CallbackHandler<>() {
          @Override
          public void handle(UInt32 id) {
            if (!missed) {
              keep(id.longValue(), n);
            }
            answered.complete(true);
          }

          @Override
          public void handleError(DBusExecutionException e) {
            LOG.warn("the desktop notification service refused a notification: {}", e.getMessage());
            answered.complete(false);
          }
        };
    try {
      bus.callWithCallback(
          service,
          "Notify",
          reply,
          "Presence",
          new UInt32(0),
          "",
          summary,
          markupEscaped(n.message()),
          actions,
          hints,
          timeout);
    } catch (RuntimeException e) {
      LOG.warn("cannot call the desktop notification service: {}", e.getMessage());
      answered.complete(false);
    }
    return answered;
  }

  private void keep(long id, DeviceClient.Notification n) {
    synchronized (shown) {
      if (shown.size() >= MAX_SHOWN) {
        shown.keySet().stream().min(Long::compare).ifPresent(shown::remove);
      }
      shown.put(id, n);
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
    synchronized (queue) {
      closed = true;
      queue.clear();
      queue.notifyAll();
    }
    for (AutoCloseable h : handlers) {
      try {
        h.close();
      } catch (Exception e) {
        // Closing anyway.
      }
    }
  }
}
