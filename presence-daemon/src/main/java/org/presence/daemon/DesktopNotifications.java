package org.presence.daemon;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
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
import org.freedesktop.dbus.messages.DBusSignal;
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
 *
 * <p>The user can act on a notification before the daemon has its id: a notification service may
 * show it before it answers {@code Notify} (a slow one, seconds before), and dbus-java hands
 * signals and method answers to different threads, so an {@code ActionInvoked} sent just after the
 * answer may be handled first. While a {@code Notify} answer is outstanding, actions and closes on
 * ids the daemon does not know are kept (at most {@link #MAX_EARLY} ids) and applied when the
 * answer naming that id comes; they are dropped once no answer is outstanding (they were other
 * applications').
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

  /** At most this many unknown ids' actions are kept while a {@code Notify} answer is awaited. */
  static final int MAX_EARLY = 16;

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

  /**
   * Signals ({@code ActionInvoked}, {@code NotificationClosed}) on ids not yet known, in arrival
   * order per id, while {@link #unanswered} is above zero; guarded by {@link #shown}.
   */
  private final Map<Long, List<DBusSignal>> early = new LinkedHashMap<>();

  /** {@code Notify} calls sent whose answer has not been handled; guarded by {@link #shown}. */
  private int unanswered;

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
            answer(id.longValue(), missed ? null : n);
            answered.complete(true);
          }

          @Override
          public void handleError(DBusExecutionException e) {
            LOG.warn("the desktop notification service refused a notification: {}", e.getMessage());
            answer(-1, null);
            answered.complete(false);
          }
        };
    synchronized (shown) {
      unanswered++;
    }
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
      answer(-1, null);
      answered.complete(false);
    }
    return answered;
  }

  /**
   * A {@code Notify} call was answered with {@code id} (-1: refused or failed); {@code n} is kept
   * under it for the user's answer (null: nothing to answer). Signals on {@code id} that came
   * before are applied now, in their order.
   */
  private void answer(long id, DeviceClient.Notification n) {
    List<DBusSignal> before;
    synchronized (shown) {
      unanswered--;
      before = early.remove(id);
      if (unanswered <= 0) {
        early.clear(); // no answer is outstanding: what is left was never ours
      }
      if (n != null) {
        if (shown.size() >= MAX_SHOWN) {
          shown.keySet().stream().min(Long::compare).ifPresent(shown::remove);
        }
        shown.put(id, n);
      }
    }
    if (n != null && before != null) {
      for (DBusSignal s : before) {
        if (s instanceof Notifications.ActionInvoked a) {
          invoked(a);
        } else if (s instanceof Notifications.NotificationClosed c) {
          closed(c);
        }
      }
    }
  }

  /**
   * The notification {@code id} names, taken out of those shown, or null: then, while a {@code
   * Notify} answer is outstanding, {@code signal} is kept for the answer that may name {@code id}.
   */
  private DeviceClient.Notification take(long id, DBusSignal signal) {
    synchronized (shown) {
      DeviceClient.Notification n = shown.remove(id);
      if (n == null && unanswered > 0) {
        List<DBusSignal> list = early.get(id);
        if (list == null) {
          if (early.size() >= MAX_EARLY) {
            early.remove(early.keySet().iterator().next());
          }
          list = new ArrayList<>(2);
          early.put(id, list);
        }
        list.add(signal);
      }
      return n;
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
    DeviceClient.Notification n = take(s.getId().longValue(), s);
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
    DeviceClient.Notification n = take(s.getId().longValue(), s);
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
