package org.presence.daemon;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.freedesktop.dbus.connections.impl.DBusConnection;
import org.freedesktop.dbus.exceptions.DBusException;
import org.presence.client.Backoff;
import org.presence.client.DeviceClient;
import org.presence.client.PresenceException;
import org.presence.client.PresenceStatus;
import org.presence.daemon.dbus.NetworkManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The desktop daemon (docs/clients.md#the-desktop-daemon): a {@link DeviceClient} whose status
 * follows the user's idle time under their presence policy, and whose live notifications are shown
 * on the desktop and answered from there.
 *
 * <ul>
 *   <li>The policy is read with {@code GET /api/settings} on every new session and followed from
 *       the {@code settings} frames afterwards; until the first read answers, nothing is sent.
 *   <li>Every poll interval (and at once when the policy changes) the idle time is read and turned
 *       into a status; it is sent only when it differs from the last one sent (the client itself
 *       sends it again on a new session). Statuses carry no message: the node adds the user's
 *       custom status or away message.
 *   <li>Notifications go to {@link DesktopNotifications}; Accept acknowledges (and opens the
 *       notification's link), Dismiss or closing it dismisses.
 *   <li>{@link #wake()} (logind's {@code PrepareForSleep} ended, NetworkManager connected again)
 *       reconnects at once and reads the idle time again; other losses are the client's backoff.
 * </ul>
 *
 * <p>All its work runs on one thread of its own ({@code presence-daemon}); D-Bus calls block that
 * thread only. Notifications are shown from {@link DesktopNotifications}' own thread, so a slow
 * notification service never delays a status or a policy change.
 */
public final class PresenceDaemon implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PresenceDaemon.class);
  private static final JsonFactory JSON = new JsonFactory();

  /** What the daemon did; for logs and tests. Called on the daemon's thread. */
  public interface Events {
    default void connected(String sessionId) {}

    default void policy(Policy policy) {}

    default void statusSent(PresenceStatus status, Duration idle) {}

    /**
     * The daemon stopped by itself: the device was revoked (errno −12), or its token supplier threw
     * {@link PairingRevokedException}. It must be paired again.
     */
    default void stopped(PresenceException cause) {}
  }

  /**
   * Thrown by a token supplier whose pairing the node no longer accepts (a refresh answered {@code
   * invalid_grant}): the daemon stops instead of trying again.
   */
  public static final class PairingRevokedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public PairingRevokedException(String message) {
      super(message);
    }
  }

  private final URI node;
  private final Supplier<String> tokens;
  private final IdleSource idle;
  private final Consumer<String> opener;
  private final Events events;
  private final Duration poll;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private final ScheduledExecutorService exec =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "presence-daemon");
            t.setDaemon(true);
            return t;
          });
  private final DeviceClient client;
  private final DesktopNotifications desktop;
  private final AutoCloseable sleepNotices;
  private final AutoCloseable networkNotices;

  // Only on exec.
  private volatile String lastToken;
  private Policy policy;
  private volatile PresenceStatus sent;
  private boolean idleFailed;
  private int settingsFrames;
  private boolean revoked;

  /** What the token supplier said when it found the pairing revoked; it is not asked again. */
  private volatile PairingRevokedException revokedPairing;

  private PresenceDaemon(Builder b) {
    this.node = b.node;
    this.tokens = b.tokens;
    this.idle = b.idle;
    this.opener = b.opener;
    this.events = b.events;
    this.poll = b.poll;
    this.desktop = b.sessionBus == null ? null : desktop(b.sessionBus);
    this.client =
        DeviceClient.builder(node)
            .token(
                () -> {
                  // A revoked pairing stays revoked: the supplier is not asked again (a connect
                  // attempt the client had already scheduled must not ask it a second time).
                  PairingRevokedException r = revokedPairing;
                  if (r != null) {
                    throw r;
                  }
                  try {
                    String t = tokens.get();
                    lastToken = t;
                    return t;
                  } catch (PairingRevokedException e) {
                    revokedPairing = e;
                    throw e;
                  }
                })
            .device(b.device)
            .backoff(b.backoff)
            .listener(new Listener())
            .start();
    this.sleepNotices = b.logind == null ? null : sleepNotices(b.logind);
    this.networkNotices = b.systemBus == null ? null : networkNotices(b.systemBus);
    exec.scheduleWithFixedDelay(
        this::evaluate, poll.toMillis(), poll.toMillis(), TimeUnit.MILLISECONDS);
  }

  private DesktopNotifications desktop(DBusConnection sessionBus) {
    try {
      return new DesktopNotifications(sessionBus, new Answers());
    } catch (DBusException e) {
      LOG.warn("no desktop notifications: {}", e.getMessage());
      return null;
    }
  }

  private AutoCloseable sleepNotices(LogindIdle logind) {
    try {
      return logind.onSleep(
          start -> {
            if (!start) {
              LOG.info("woke from sleep: reconnecting");
              wake();
            }
          });
    } catch (DBusException e) {
      LOG.warn("no suspend notices from logind: {}", e.getMessage());
      return null;
    }
  }

  private AutoCloseable networkNotices(DBusConnection systemBus) {
    try {
      return systemBus.addSigHandler(
          NetworkManager.StateChanged.class,
          s -> {
            if (s.getState().longValue() == NetworkManager.CONNECTED_GLOBAL) {
              LOG.info("the network is back (NetworkManager): reconnecting");
              wake();
            }
          });
    } catch (DBusException e) {
      LOG.warn("no network notices from NetworkManager: {}", e.getMessage());
      return null;
    }
  }

  public static Builder builder(URI node) {
    return new Builder(node);
  }

  /** The machine woke from sleep or its network came back: a new session now, and the idle time. */
  public void wake() {
    client.reconnect();
    run(this::evaluate);
  }

  /** Sends {@code offline} (waiting a little for the node's answer) and stops. */
  @Override
  public void close() {
    if (sent != null && sent != PresenceStatus.OFFLINE) {
      try {
        client.status(PresenceStatus.OFFLINE, null).get(2, TimeUnit.SECONDS);
      } catch (Exception e) {
        // Stopping anyway: the node shows the device offline after its grace period.
      }
    }
    for (AutoCloseable notices : new AutoCloseable[] {sleepNotices, networkNotices}) {
      if (notices != null) {
        try {
          notices.close();
        } catch (Exception e) {
          // Stopping anyway.
        }
      }
    }
    client.close();
    exec.shutdownNow();
    if (desktop != null) {
      desktop.close();
    }
    idle.close();
  }

  private void run(Runnable task) {
    try {
      exec.execute(task);
    } catch (RejectedExecutionException closed) {
      // Stopped.
    }
  }

  // ---------------------------------------------------------------------------------------------
  // On exec

  private void evaluate() {
    if (policy == null || revoked) {
      return;
    }
    Duration d;
    try {
      d = idle.idle();
      idleFailed = false;
    } catch (IOException | RuntimeException e) {
      if (!idleFailed) {
        LOG.warn("cannot read the idle time ({}); counting the user as active", e.getMessage());
        idleFailed = true;
      }
      d = null;
    }
    if (d == null) {
      d = Duration.ZERO;
    }
    PresenceStatus s = policy.statusFor(d, sent);
    if (s == sent) {
      return;
    }
    sent = s;
    Duration idleTime = d;
    LOG.info("status {} (idle {} s)", s.wire(), d.toSeconds());
    client
        .status(s, null)
        .whenComplete(
            (v, e) -> {
              if (e != null) {
                LOG.warn("the node did not take the status {}: {}", s.wire(), e.getMessage());
              }
            });
    events.statusSent(s, idleTime);
  }

  private void setPolicy(Policy p) {
    if (!p.equals(policy)) {
      LOG.info(
          "presence policy: online within {} min, away after {} min, offline after {} min",
          p.onlineWithinMinutes(),
          p.awayAfterMinutes(),
          p.offlineAfterMinutes());
    }
    policy = p;
    events.policy(p);
    evaluate();
  }

  /** Reads the policy with {@code GET /api/settings} and the session's token. */
  private void fetchPolicy() {
    String token = lastToken;
    int framesBefore = settingsFrames;
    String root = node.toString().endsWith("/") ? node.toString() : node + "/";
    http.sendAsync(
            HttpRequest.newBuilder(URI.create(root + "api/settings"))
                .timeout(Duration.ofSeconds(15))
                .header("Authorization", "Bearer " + token)
                .header("Accept", "application/json")
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .whenCompleteAsync(
            (r, e) -> {
              if (settingsFrames != framesBefore && policy != null) {
                return; // a settings frame came meanwhile: it is newer than this answer
              }
              Policy p = null;
              if (e == null && r.statusCode() == 200) {
                p = parsePolicy(r.body());
              }
              if (p == null) {
                LOG.warn(
                    "cannot read the presence policy ({}); using the defaults until it changes",
                    e != null ? e.getMessage() : "HTTP " + r.statusCode());
                p = policy != null ? policy : Policy.DEFAULTS;
              }
              setPolicy(p);
            },
            exec);
  }

  /** The policy in a {@code GET /api/settings} answer, or {@code null}. */
  static Policy parsePolicy(String json) {
    Map<String, String> m = new HashMap<>();
    try (JsonParser p = JSON.createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        if (v.isScalarValue()) {
          m.put(name, p.getText());
        } else {
          p.skipChildren();
        }
      }
    } catch (IOException e) {
      return null;
    }
    try {
      return new Policy(
          Integer.parseInt(m.get("online_within_minutes")),
          Integer.parseInt(m.get("away_after_minutes")),
          Integer.parseInt(m.get("offline_after_minutes")),
          Objects.requireNonNullElse(m.get("custom_status"), ""),
          Objects.requireNonNullElse(m.get("away_message"), ""));
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private void show(List<DeviceClient.Notification> list) {
    if (desktop == null) {
      return;
    }
    for (DeviceClient.Notification n : list) {
      desktop.show(n); // queued: a slow notification service does not hold this thread
    }
  }

  /** The client's events, moved onto the daemon's thread. */
  private final class Listener implements DeviceClient.Listener {
    @Override
    public void onConnected(String sessionId) {
      run(
          () -> {
            LOG.info("connected to {} (session {})", node, sessionId);
            events.connected(sessionId);
            fetchPolicy();
          });
    }

    @Override
    public void onSettings(DeviceClient.Settings settings) {
      run(
          () -> {
            settingsFrames++;
            setPolicy(Policy.of(settings));
          });
    }

    @Override
    public void onNotifications(List<DeviceClient.Notification> list) {
      show(list);
    }

    @Override
    public void onDisconnected(PresenceException cause, Duration retryIn) {
      String why = describe(cause);
      if (isRevoked(cause)) {
        LOG.error(
            "this device's pairing was revoked ({}): stopping; pair it again by starting the daemon"
                + " again (presence daemon, or systemctl --user restart presence-daemon), which"
                + " prints a code to enter at the node's /pair page",
            why);
        run(
            () -> {
              if (!revoked) {
                revoked = true;
                client.close();
                events.stopped(cause);
              }
            });
      } else if (retryIn == null) {
        LOG.warn("session ended: {}; not reconnecting", why);
      } else {
        LOG.info("connection lost ({}); reconnecting in {} ms", why, retryIn.toMillis());
      }
    }
  }

  /** The exception's message with those of its causes (the root of a failed connect). */
  static String describe(Throwable e) {
    StringBuilder b = new StringBuilder(String.valueOf(e.getMessage()));
    int depth = 0;
    for (Throwable c = e.getCause(); c != null && c != e && depth < 5; c = c.getCause(), depth++) {
      b.append(": ").append(c.getMessage() != null ? c.getMessage() : c.getClass().getSimpleName());
    }
    return b.toString();
  }

  /** Errno −12, or a token supplier that says its pairing is revoked. */
  static boolean isRevoked(PresenceException cause) {
    if (cause.errno() == DeviceClient.DEVICE_REVOKED) {
      return true;
    }
    int depth = 0;
    for (Throwable c = cause.getCause(); c != null && depth < 8; c = c.getCause(), depth++) {
      if (c instanceof PairingRevokedException) {
        return true;
      }
    }
    return false;
  }

  /** The user's answers from the desktop, sent to the node. */
  private final class Answers implements DesktopNotifications.Answers {
    @Override
    public void accepted(DeviceClient.Notification n) {
      answer(client.acknowledge(List.of(n.id())), "acknowledge", n);
      if (!n.action().isEmpty()) {
        opener.accept(n.action());
      }
    }

    @Override
    public void dismissed(DeviceClient.Notification n) {
      answer(client.dismiss(List.of(n.id())), "dismiss", n);
    }

    private void answer(CompletableFuture<Void> f, String what, DeviceClient.Notification n) {
      f.whenComplete(
          (v, e) -> {
            if (e != null) {
              LOG.warn("cannot {} notification {}: {}", what, n.id(), e.getMessage());
            }
          });
    }
  }

  /** Settings of a {@link PresenceDaemon}. */
  public static final class Builder {
    private final URI node;
    private Supplier<String> tokens;
    private String device;
    private IdleSource idle = () -> Duration.ZERO;
    private DBusConnection sessionBus;
    private LogindIdle logind;
    private DBusConnection systemBus;
    private Consumer<String> opener = link -> {};
    private Events events = new Events() {};
    private Duration poll = Duration.ofSeconds(15);
    private Backoff backoff = Backoff.defaults();

    private Builder(URI node) {
      this.node = Objects.requireNonNull(node);
    }

    /** Identity tokens: called (on a pool thread; it may block) before every connect. */
    public Builder tokens(Supplier<String> tokens) {
      this.tokens = tokens;
      return this;
    }

    /** The device's stable id ({@link XdgState#deviceId()}). */
    public Builder device(String device) {
      this.device = device;
      return this;
    }

    public Builder idle(IdleSource idle) {
      this.idle = Objects.requireNonNull(idle);
      return this;
    }

    /**
     * The session bus whose {@code org.freedesktop.Notifications} shows notifications (default:
     * none, they are not shown).
     */
    public Builder notifications(DBusConnection sessionBus) {
      this.sessionBus = sessionBus;
      return this;
    }

    /** Where {@code PrepareForSleep} comes from: the daemon reconnects when the machine wakes. */
    public Builder sleepNotices(LogindIdle logind) {
      this.logind = logind;
      return this;
    }

    /**
     * The system bus where NetworkManager says when the machine is connected again: the daemon then
     * reconnects at once instead of waiting for its backoff or for the dead socket to time out.
     */
    public Builder networkNotices(DBusConnection systemBus) {
      this.systemBus = systemBus;
      return this;
    }

    /** What opens an accepted notification's link (default: nothing). */
    public Builder opener(Consumer<String> opener) {
      this.opener = Objects.requireNonNull(opener);
      return this;
    }

    public Builder events(Events events) {
      this.events = Objects.requireNonNull(events);
      return this;
    }

    /** How often the idle time is read (default 15 s). */
    public Builder poll(Duration poll) {
      this.poll = poll;
      return this;
    }

    /** The client's reconnect backoff (default: 500 ms doubling to 30 s, full jitter). */
    public Builder backoff(Backoff backoff) {
      this.backoff = Objects.requireNonNull(backoff);
      return this;
    }

    public PresenceDaemon start() {
      if (tokens == null) {
        throw new IllegalStateException("a token supplier is required");
      }
      return new PresenceDaemon(this);
    }
  }
}
