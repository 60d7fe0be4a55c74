package org.presence.gateway.device;

import io.netty.channel.Channel;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.connection.Connections;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.user.UserSettings;

/**
 * The open device sessions of this node, by session id: where {@link DeviceService} finds a session
 * to end when a newer connection of the same device replaced it, and what the keepalive sweep
 * walks.
 *
 * <p>Keepalive costs no timer per socket: one task on the node's device timer thread looks at every
 * session's last read time a few times per ping interval and asks only silent sessions' event loops
 * to ping them (or to close them when a ping went unanswered). The same sweep ends the sessions
 * whose identity expired without a refresh ({@code identity-grace} after the token's expiry), so an
 * idle session holds no timer of its own either.
 *
 * <p>It also holds the open sessions' sockets for the node's {@link Connections} ({@link
 * #trackConnections}): a socket whose session opened is handed over to it, so that an idle device
 * socket is one map entry, here, and not a second one there.
 */
public final class DeviceRegistry implements DeviceService.LocalSessions, Connections.Registry {
  /** A session as the registry sees it; implemented by the session's {@link SessionDriver}. */
  interface Link {
    /** The session's event loop, where the calls below that say so run. */
    java.util.concurrent.Executor eventLoop();

    /** {@link System#nanoTime()} of the last frame received (any frame, pongs included). */
    long lastReadNanos();

    /** Ends the session because a newer connection took the device. Runs on its event loop. */
    void replaced();

    /** Pings the socket, or closes it when its ping went unanswered. Runs on its event loop. */
    void keepalive();

    /** Ends the session with {@code code} (the node lost its devices). Runs on its event loop. */
    void abort(ErrorCode code, String detail);

    /** Writes the user's new settings to the device. Runs on its event loop. */
    void settings(DeviceMessage.Settings settings);

    /** The session's user ({@code sub}). */
    String user();

    /** The paired device whose token the session holds, or empty. */
    String pairedDevice();

    /**
     * {@link System#currentTimeMillis()} from which the session ends because its identity expired
     * without a refresh ({@link Long#MAX_VALUE}: not due).
     */
    long identityDeadlineMillis();

    /** Ends the session if its identity expired without a refresh. Runs on its event loop. */
    void identityExpired();
  }

  private final ConcurrentHashMap<UUID, Link> links = new ConcurrentHashMap<>();
  private final long pingIntervalNanos;
  private ScheduledFuture<?> sweep;

  /** The node's connections, which hand the open sessions' sockets over; {@code null}: none. */
  private volatile Connections connections;

  /** A registry whose sweep pings sessions silent for {@code pingInterval}. */
  public DeviceRegistry(Duration pingInterval) {
    this.pingIntervalNanos = pingInterval.toNanos();
  }

  /**
   * Starts the keepalive sweep on {@code timers}, every quarter of the shortest of the ping
   * interval, the ping timeout and the identity grace (between 20 ms and 5 s): a session whose
   * identity expired ends between {@code identityGrace} and that much later.
   */
  public void startKeepalive(
      ScheduledExecutorService timers, Duration pingTimeout, Duration identityGrace) {
    long period =
        Math.max(
            20,
            Math.min(
                5000,
                Math.min(
                        pingIntervalNanos / 1_000_000,
                        Math.min(pingTimeout.toMillis(), identityGrace.toMillis()))
                    / 4));
    sweep = timers.scheduleWithFixedDelay(this::sweep, period, period, TimeUnit.MILLISECONDS);
  }

  /**
   * Holds the sockets of the sessions opened from now on for {@code connections}, which forgets
   * them ({@link Connections#handOver}) and walks this registry when it drains, closes or counts
   * every connection. Called once at start, before the node accepts connections.
   */
  public void trackConnections(Connections connections) {
    connections.attach(this);
    this.connections = connections;
  }

  /**
   * The session opened: it is registered, and its socket handed over from the node's connections
   * (on its event loop, after the session is in the map, so that a walk of both finds it).
   */
  void add(UUID session, Link link) {
    links.put(session, link);
    Connections c = connections;
    if (c != null
        && link instanceof SessionDriver d
        && d.socket() instanceof DeviceSessionHandler h) {
      c.handOver(h.channel());
      Connections.authenticated(h.channel());
    }
  }

  void remove(UUID session, Link link) {
    links.remove(session, link);
  }

  /** Open sessions. */
  @Override
  public int size() {
    return links.size();
  }

  /**
   * Calls {@code action} with the channel of every open session (the node's connections, tests).
   */
  @Override
  public void forEachChannel(java.util.function.Consumer<Channel> action) {
    for (Link link : links.values()) {
      if (link instanceof SessionDriver d && d.socket() instanceof DeviceSessionHandler h) {
        action.accept(h.channel());
      }
    }
  }

  /** Calls {@code action} with every open session of this node that live notifications reach. */
  public void forEachSink(java.util.function.Consumer<NotificationSink> action) {
    for (Link link : links.values()) {
      if (link instanceof NotificationSink s) {
        action.accept(s);
      }
    }
  }

  /**
   * The open session {@code session} of this node, as live notifications push to it, or {@code
   * null} when it is not open here.
   */
  public NotificationSink sink(UUID session) {
    Link link = links.get(session);
    return link instanceof NotificationSink s ? s : null;
  }

  @Override
  public void replaced(UUID session) {
    Link link = links.get(session);
    if (link != null) {
      link.eventLoop().execute(link::replaced);
    }
  }

  @Override
  public void settings(UUID session, UserSettings s) {
    Link link = links.get(session);
    if (link != null) {
      DeviceMessage.Settings frame =
          new DeviceMessage.Settings(
              s.onlineWithinMinutes(),
              s.awayAfterMinutes(),
              s.offlineAfterMinutes(),
              s.customStatus(),
              s.awayMessage());
      link.eventLoop().execute(() -> link.settings(frame));
    }
  }

  @Override
  public void abort(UUID session, ErrorCode code, String detail) {
    Link link = links.get(session);
    if (link != null) {
      link.eventLoop().execute(() -> link.abort(code, detail));
    }
  }

  /**
   * Ends every open session with {@code code}: the cluster declared this node dead and marked its
   * devices offline, so each device must open a new session to be seen again.
   */
  public int abortAll(ErrorCode code, String detail) {
    int n = 0;
    for (Link link : links.values()) {
      link.eventLoop().execute(() -> link.abort(code, detail));
      n++;
    }
    return n;
  }

  /**
   * Ends with {@code DEVICE_REVOKED} the sessions of this node that hold a token of paired device
   * {@code pairedDevice}, or, when {@code pairedDevice} is {@code null}, of any paired device of
   * {@code user}. Returns how many it ends.
   */
  public int revoked(String user, String pairedDevice) {
    int n = 0;
    for (Link link : links.values()) {
      String held = link.pairedDevice();
      if (held.isEmpty()
          || !(pairedDevice == null ? user.equals(link.user()) : pairedDevice.equals(held))) {
        continue;
      }
      link.eventLoop().execute(() -> link.abort(ErrorCode.DEVICE_REVOKED, null));
      n++;
    }
    return n;
  }

  private void sweep() {
    long now = System.nanoTime();
    long nowMillis = System.currentTimeMillis();
    for (Link link : links.values()) {
      if (nowMillis >= link.identityDeadlineMillis()) {
        link.eventLoop().execute(link::identityExpired);
      } else if (now - link.lastReadNanos() >= pingIntervalNanos) {
        link.eventLoop().execute(link::keepalive);
      }
    }
  }

  /** Stops the sweep. */
  public void close() {
    if (sweep != null) {
      sweep.cancel(false);
    }
  }
}
