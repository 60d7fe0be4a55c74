package org.presence.client;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A device's connection to Presence (docs/device-protocol.md): it holds a session on the node's
 * device channel at {@code /presence}, sends the user's status, and hands live notifications to a
 * {@link Listener}, which answers them with {@link #acknowledge} or {@link #dismiss}.
 *
 * <ul>
 *   <li><b>Sign-in.</b> Every connect asks the token supplier for an identity token. When the node
 *       says when that token expires ({@code expires_at} in the connect answer), the client asks
 *       the supplier again once four fifths of its lifetime have passed and sends the new token in
 *       a {@code refresh} request on the open session, so a supplier that can mint or refresh
 *       tokens is all a long-lived device needs.
 *   <li><b>Reconnects.</b> When the session is lost (a negative errno, the node stopping, the
 *       network), the client opens a new session after an exponential backoff with full jitter
 *       ({@link Backoff}), and sends the latest status again: a new session shows nothing until it
 *       sends one. The backoff starts afresh only after a session stayed up 30 s ({@link
 *       Builder#resetBackoffAfter}). Errno −2 (another connection of the same device took over) and
 *       −12 (the user revoked the device: pair it again) stop it.
 *   <li><b>Slow down.</b> A request refused with errno 40 is sent again after a backoff of its own;
 *       requests go one at a time, in order.
 *   <li><b>Notifications.</b> Delivered to the listener once per id (the node may rarely send one
 *       twice); {@link Notification#missed()} flags those whose time to answer has passed.
 * </ul>
 *
 * <p>Everything runs on one thread of the client, listener calls included: a listener must not
 * block. {@link #close()} ends the session and the thread.
 */
public final class DeviceClient implements AutoCloseable {
  /**
   * What a device is told. All calls come from the client's thread, one at a time. An exception a
   * call throws is logged ({@link System.Logger}, WARNING) and the session goes on.
   */
  public interface Listener {
    /** A new session is open (the first, or after a reconnect). */
    default void onConnected(String sessionId) {}

    /** Live notifications, each id once; answer with acknowledge or dismiss. */
    default void onNotifications(List<Notification> notifications) {}

    /**
     * The node accepted a new identity token on the open session; it expires at {@code
     * expiresAtMillis} (milliseconds since the epoch).
     */
    default void onIdentityRefreshed(long expiresAtMillis) {}

    /** The user's settings changed (their presence policy and messages). */
    default void onSettings(Settings settings) {}

    /**
     * The session ended or could not be opened. {@code retryIn} is the wait before the next
     * attempt, or {@code null} when the client has stopped (closed, replaced by errno −2, or the
     * device revoked, errno −12).
     */
    default void onDisconnected(PresenceException cause, Duration retryIn) {}
  }

  /** A live notification as pushed to the device (docs/notifications.md#delivering). */
  public record Notification(
      String id,
      long appId,
      String source,
      String message,
      String action,
      long expiresMillis,
      boolean missed) {}

  /** The user's settings frame: the presence policy and the user's own messages. */
  public record Settings(
      int onlineWithinMinutes,
      int awayAfterMinutes,
      int offlineAfterMinutes,
      String customStatus,
      String awayMessage) {}

  /** Errno −2: a newer connection of this device took over; do not reconnect. */
  public static final int SESSION_REPLACED = -2;

  /** Errno −12: the user revoked this (paired) device; do not reconnect, pair it again. */
  public static final int DEVICE_REVOKED = -12;

  private static final System.Logger LOG = System.getLogger(DeviceClient.class.getName());
  private static final int MAX_FRAME_CHARS = 1 << 20;
  private static final long MAX_REFRESH_GAP = 300_000;
  private static final int REMEMBERED_IDS = 1000;

  private final URI uri;
  private final Supplier<? extends CompletionStage<String>> tokens;
  private final String device;
  private final long[] applicationIds;
  private final Listener listener;
  private final Backoff reconnect;
  private final Backoff slowDown;
  private final HttpClient http;
  private final Duration answerTimeout;
  private final Duration idleTimeout;
  private final Duration stableAfter;
  private final Duration refreshFloor;
  private final ScheduledExecutorService exec;

  // State below: only on exec.
  private final Deque<Request> queue = new ArrayDeque<>();
  private final LinkedHashSet<String> seenIds = new LinkedHashSet<>();
  private Request inFlight;
  private boolean pausedForSlowDown;
  private int generation;
  private WebSocket socket;
  private Frames frames;
  private String session;
  private PresenceException lastError;
  private long lastHeardNanos;
  private Status desired;
  private boolean stopped;
  private ScheduledFuture<?> timer;
  private ScheduledFuture<?> refreshTimer;
  private long refreshGap;
  private ScheduledFuture<?> retry;
  private CompletableFuture<WebSocket> sending = CompletableFuture.completedFuture(null);

  private record Status(PresenceStatus status, String message) {}

  private static final class Request {
    final String type;
    final Status status;
    final List<String> ids;
    final String assertion;
    final CompletableFuture<Void> done;

    Request(String type, Status status, List<String> ids, CompletableFuture<Void> done) {
      this(type, status, ids, null, done);
    }

    Request(
        String type,
        Status status,
        List<String> ids,
        String assertion,
        CompletableFuture<Void> done) {
      this.type = type;
      this.status = status;
      this.ids = ids;
      this.assertion = assertion;
      this.done = done;
    }
  }

  private DeviceClient(Builder b) {
    this.uri = Frames.webSocketUri(b.uri, "/presence");
    this.tokens = b.tokens;
    this.device = b.device;
    this.applicationIds = b.applicationIds;
    this.listener = b.listener;
    this.reconnect = b.backoff.copy();
    this.slowDown = b.slowDown.copy();
    this.http = b.http != null ? b.http : HttpClient.newHttpClient();
    this.answerTimeout = b.answerTimeout;
    this.idleTimeout = b.idleTimeout;
    this.stableAfter = b.stableAfter;
    this.refreshFloor = b.refreshFloor;
    this.exec =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "presence-device-client");
              t.setDaemon(true);
              return t;
            });
  }

  /** A builder for a client of the node at {@code node} ({@code http://127.0.0.1:8080}). */
  public static Builder builder(URI node) {
    return new Builder(node);
  }

  /** Starts connecting; returns at once. */
  private DeviceClient start() {
    exec.execute(this::attempt);
    long period = Math.max(100, idleTimeout.toMillis() / 4);
    exec.scheduleWithFixedDelay(this::checkIdle, period, period, TimeUnit.MILLISECONDS);
    return this;
  }

  /**
   * Sets the device's status (with a custom message, or {@code null} for none) and returns when the
   * node acknowledged it. The client remembers it and sends it again on every new session. A status
   * still waiting to be sent when a newer one is set is not sent: its future completes with the
   * newer one's outcome.
   */
  public CompletableFuture<Void> status(PresenceStatus status, String message) {
    Objects.requireNonNull(status, "status");
    CompletableFuture<Void> done = new CompletableFuture<>();
    exec.execute(
        () -> {
          desired = new Status(status, message == null ? "" : message);
          enqueue(new Request("status", desired, null, done));
        });
    return done;
  }

  /** Tells the node the user acted on these notifications. Fails with errno 173 for unknown ids. */
  public CompletableFuture<Void> acknowledge(List<String> ids) {
    return answer("acknowledge", ids);
  }

  /** Tells the node the user dismissed these notifications. */
  public CompletableFuture<Void> dismiss(List<String> ids) {
    return answer("dismiss", ids);
  }

  private CompletableFuture<Void> answer(String type, List<String> ids) {
    if (ids.isEmpty() || ids.size() > 100) {
      throw new IllegalArgumentException("1 to 100 ids");
    }
    CompletableFuture<Void> done = new CompletableFuture<>();
    List<String> copy = List.copyOf(ids);
    exec.execute(() -> enqueue(new Request(type, null, copy, done)));
    return done;
  }

  /** The open session's id, or {@code null} between sessions. */
  public CompletableFuture<String> sessionId() {
    return CompletableFuture.supplyAsync(() -> session, exec);
  }

  /**
   * Drops the session (or the wait before the next attempt) and connects again at once, with the
   * backoff started afresh: for a device that knows its old socket is dead, having woken from sleep
   * or changed networks. Queued requests and the latest status go on the new session.
   */
  public void reconnect() {
    run(
        () -> {
          if (stopped) {
            return;
          }
          if (retry != null) {
            retry.cancel(false);
            retry = null;
          }
          generation++;
          cancelTimer();
          cancelRefresh();
          lastError = null;
          WebSocket ws = socket;
          socket = null;
          frames = null;
          session = null;
          sending = CompletableFuture.completedFuture(null);
          if (ws != null) {
            ws.abort();
          }
          if (inFlight != null) {
            queue.addFirst(inFlight);
            inFlight = null;
          }
          pausedForSlowDown = false;
          reconnect.reset();
          tell(
              "onDisconnected",
              () ->
                  listener.onDisconnected(
                      new PresenceException(PresenceException.NO_ERRNO, 0, "Reconnecting"),
                      Duration.ZERO));
          attempt();
        });
  }

  /** Ends the session (a normal close) and stops the client; closing again does nothing. */
  @Override
  public void close() {
    if (exec.isShutdown()) {
      return;
    }
    CompletableFuture<Void> closed = new CompletableFuture<>();
    try {
      exec.execute(
          () -> {
            stopped = true;
            WebSocket ws = socket;
            socket = null;
            session = null;
            failAll(new PresenceException(PresenceException.NO_ERRNO, 0, "Client closed"));
            if (ws == null) {
              closed.complete(null);
              return;
            }
            sending
                .handle((w, e) -> ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye"))
                .thenCompose(s -> s)
                .orTimeout(2, TimeUnit.SECONDS)
                .whenComplete(
                    (w, e) -> {
                      ws.abort();
                      closed.complete(null);
                    });
          });
      closed.get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      // Closing anyway.
    } finally {
      exec.shutdownNow();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Connecting (all on exec)

  private void attempt() {
    if (stopped) {
      return;
    }
    int gen = ++generation;
    CompletionStage<String> token;
    try {
      token = tokens.get();
    } catch (RuntimeException e) {
      token = CompletableFuture.failedFuture(e);
    }
    token
        .thenCompose(
            t -> {
              Frames f = new Frames(new Sink(gen), MAX_FRAME_CHARS);
              return http.newWebSocketBuilder()
                  .connectTimeout(answerTimeout)
                  .buildAsync(uri, f)
                  .thenApply(ws -> new Opened(t, ws, f));
            })
        .whenCompleteAsync(
            (opened, e) -> {
              if (e != null) {
                lost(gen, new PresenceException("Cannot connect to " + uri, unwrap(e)));
              } else {
                opened(gen, opened);
              }
            },
            exec);
  }

  private record Opened(String token, WebSocket socket, Frames frames) {}

  private void opened(int gen, Opened o) {
    if (gen != generation || stopped) {
      o.socket().abort();
      return;
    }
    socket = o.socket();
    frames = o.frames();
    lastHeardNanos = System.nanoTime();
    send(DeviceFrames.connect(o.token(), device, applicationIds));
    cancelTimer();
    timer =
        exec.schedule(
            () -> {
              if (gen == generation && session == null && socket != null) {
                socket.abort();
                lost(gen, new PresenceException(PresenceException.NO_ERRNO, 0, "No answer"));
              }
            },
            answerTimeout.toMillis(),
            TimeUnit.MILLISECONDS);
  }

  private void checkIdle() {
    if (socket != null && System.nanoTime() - lastHeardNanos > idleTimeout.toNanos() && !stopped) {
      WebSocket ws = socket;
      lost(generation, new PresenceException(PresenceException.NO_ERRNO, 0, "Node silent"));
      ws.abort();
    }
  }

  /** The session of attempt {@code gen} ended (or never opened). */
  private void lost(int gen, PresenceException cause) {
    if (gen != generation || stopped) {
      return;
    }
    generation++;
    cancelTimer();
    cancelRefresh();
    PresenceException why = lastError != null ? lastError : cause;
    lastError = null;
    WebSocket ws = socket;
    socket = null;
    frames = null;
    session = null;
    sending = CompletableFuture.completedFuture(null);
    if (ws != null) {
      ws.abort();
    }
    if (inFlight != null) {
      queue.addFirst(inFlight);
      inFlight = null;
    }
    pausedForSlowDown = false;
    if (why.errno() == SESSION_REPLACED || why.errno() == DEVICE_REVOKED) {
      stopped = true;
      failAll(why);
      tell("onDisconnected", () -> listener.onDisconnected(why, null));
      return;
    }
    Duration wait = reconnect.next();
    tell("onDisconnected", () -> listener.onDisconnected(why, wait));
    retry = exec.schedule(this::attempt, wait.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Calls the listener. An exception it throws is logged and otherwise ignored: the session goes on
   * (the frame's notifications count as delivered), as it would had the listener returned.
   */
  private void tell(String what, Runnable call) {
    try {
      call.run();
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "DeviceClient: the listener's " + what + " threw", e);
    }
  }

  /** Runs {@code task} on the client's thread, unless the client is closed. */
  private void run(Runnable task) {
    try {
      exec.execute(task);
    } catch (java.util.concurrent.RejectedExecutionException closed) {
      // Events of a socket that outlived close(): nothing to do.
    }
  }

  private void cancelTimer() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  private static Throwable unwrap(Throwable e) {
    while ((e instanceof java.util.concurrent.CompletionException
            || e instanceof java.util.concurrent.ExecutionException)
        && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }

  /**
   * The errno a close code stands for when no error frame came before it (docs/errors.md): 1001 is
   * −3 (draining), 1007 −13 (text not UTF-8), {@code 4000 + |errno|} the errno, negative for
   * 4001–4029 (the session errnos run from −1 to −29), positive above; anything else none.
   */
  static int closeErrno(int code) {
    if (code == 1001) {
      return -3;
    }
    if (code == 1007) {
      return -13;
    }
    if (code > 4000 && code < 4030) {
      return -(code - 4000);
    }
    if (code >= 4030 && code < 5000) {
      return code - 4000;
    }
    return PresenceException.NO_ERRNO;
  }

  /** A socket's events, moved onto exec and tagged with its attempt. */
  private final class Sink implements Frames.Sink {
    private final int gen;

    Sink(int gen) {
      this.gen = gen;
    }

    @Override
    public void text(String frame) {
      run(
          () -> {
            if (gen != generation) {
              return;
            }
            lastHeardNanos = System.nanoTime();
            try {
              frame(gen, frame);
            } catch (PresenceException e) {
              lost(gen, e);
              return;
            }
            lastHeardNanos = System.nanoTime();
            Frames f = frames;
            if (f != null && gen == generation) {
              f.more();
            }
          });
    }

    @Override
    public void alive() {
      run(
          () -> {
            if (gen == generation) {
              lastHeardNanos = System.nanoTime();
            }
          });
    }

    @Override
    public void closed(int code, String reason) {
      run(
          () ->
              lost(
                  gen,
                  new PresenceException(
                      closeErrno(code),
                      0,
                      "Closed by the node ("
                          + code
                          + (reason.isEmpty() ? "" : " " + reason)
                          + ")")));
    }

    @Override
    public void failed(Throwable error) {
      run(() -> lost(gen, new PresenceException("Connection failed", error)));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Frames from the node (on exec)

  private void frame(int gen, String text) {
    DeviceFrames.Frame f = DeviceFrames.read(text);
    if (f instanceof DeviceFrames.Pushed p) {
      notifications(p.notifications());
      return;
    }
    if (f instanceof DeviceFrames.SettingsChanged s) {
      tell("onSettings", () -> listener.onSettings(s.settings()));
      return;
    }
    if (f instanceof DeviceFrames.Accepted a) {
      String id = a.sessionId();
      if (session == null) {
        if (id == null) {
          throw new PresenceException(10, 0, "Connect answer without a session_id");
        }
        connected(gen, id, a.expiresAt());
      } else {
        Request r = inFlight;
        long expiresAt = a.expiresAt();
        answered(null);
        if (r != null && r.assertion != null && expiresAt > 0) {
          tell("onIdentityRefreshed", () -> listener.onIdentityRefreshed(expiresAt));
          refreshAfterAccepted(gen, expiresAt);
        }
      }
      return;
    }
    DeviceFrames.Refused refused = (DeviceFrames.Refused) f;
    int errno = refused.errno();
    String reason = refused.reason();
    PresenceException e = new PresenceException(errno, 0, reason);
    if (session == null || errno < 0) {
      // Before the session every error ends the socket; after, a negative one does. The close
      // frame follows: remember why.
      lastError = e;
      return;
    }
    if (errno == PresenceException.SLOW_DOWN && inFlight != null) {
      queue.addFirst(inFlight);
      inFlight = null;
      pausedForSlowDown = true;
      Duration wait = slowDown.next();
      exec.schedule(
          () -> {
            if (gen == generation) {
              pausedForSlowDown = false;
              pump();
            }
          },
          Math.max(wait.toMillis(), 200),
          TimeUnit.MILLISECONDS);
      return;
    }
    answered(e);
  }

  private void connected(int gen, String id, long expiresAt) {
    cancelTimer();
    session = id;
    if (expiresAt > 0) {
      scheduleRefresh(gen, expiresAt);
    }
    // The backoff starts afresh only once the session has stayed up for a while: a node that
    // answers the connect and ends the session at once is retried with a growing wait, not at the
    // first wait forever.
    exec.schedule(
        () -> {
          if (gen == generation && session != null) {
            reconnect.reset();
          }
        },
        stableAfter.toMillis(),
        TimeUnit.MILLISECONDS);
    // The new session shows nothing until a status: send the latest again, unless one is queued.
    boolean statusQueued = queue.stream().anyMatch(r -> r.status != null);
    if (desired != null && !statusQueued) {
      queue.addFirst(new Request("status", desired, null, new CompletableFuture<>()));
    }
    tell("onConnected", () -> listener.onConnected(id));
    pump();
  }

  /**
   * Schedules the next refresh after one the node accepted. {@code expiresAt} is the node's clock
   * and the wait is measured on this device's: when they disagree so much that the wait comes out
   * under the floor (30 s; a clock ahead by more than the token's lifetime puts the expiry in the
   * past), the floor is used instead and doubles with each such refresh, up to 5 min, so a wrong
   * clock costs a refresh every few minutes, not ten a second. A wait at or above the floor resets
   * it.
   */
  private void refreshAfterAccepted(int gen, long expiresAt) {
    long delay = (expiresAt - System.currentTimeMillis()) * 4 / 5;
    long floor = refreshFloor.toMillis();
    if (delay >= floor) {
      refreshGap = 0;
      scheduleRefresh(gen, expiresAt);
      return;
    }
    refreshGap =
        refreshGap == 0 ? floor : Math.min(refreshGap * 2, Math.max(floor, MAX_REFRESH_GAP));
    if (refreshGap == floor) {
      LOG.log(
          System.Logger.Level.WARNING,
          "DeviceClient: the node's expires_at is "
              + (expiresAt - System.currentTimeMillis())
              + " ms from this device's clock after a refresh; refreshing every "
              + refreshGap
              + " ms or more (is the clock set?)");
    }
    scheduleRefresh(gen, expiresAt, refreshGap);
  }

  /**
   * Refreshes the session's identity once four fifths of the time to {@code expiresAt} have passed:
   * a new token from the supplier, sent as a {@code refresh} request. A refused refresh is tried
   * again at half the time left; one that never succeeds lets the session end at its expiry, and
   * the next session starts from a fresh token as always.
   */
  private void scheduleRefresh(int gen, long expiresAt) {
    long left = expiresAt - System.currentTimeMillis();
    scheduleRefresh(gen, expiresAt, Math.max(100, left * 4 / 5));
  }

  private void scheduleRefresh(int gen, long expiresAt, long delay) {
    cancelRefresh();
    refreshTimer =
        exec.schedule(
            () -> {
              if (gen != generation || session == null || stopped) {
                return;
              }
              CompletionStage<String> token;
              try {
                token = tokens.get();
              } catch (RuntimeException e) {
                token = CompletableFuture.failedFuture(e);
              }
              token.whenCompleteAsync(
                  (t, e) -> {
                    if (gen != generation || stopped) {
                      return;
                    }
                    if (e != null) {
                      retryRefresh(gen, expiresAt);
                      return;
                    }
                    CompletableFuture<Void> done = new CompletableFuture<>();
                    done.whenComplete(
                        (v, failure) -> {
                          if (failure != null && gen == generation) {
                            retryRefresh(gen, expiresAt);
                          }
                        });
                    enqueue(new Request("refresh", null, null, t, done));
                  },
                  exec);
            },
            delay,
            TimeUnit.MILLISECONDS);
  }

  private void retryRefresh(int gen, long expiresAt) {
    if (expiresAt - System.currentTimeMillis() > 200) {
      scheduleRefresh(
          gen, System.currentTimeMillis() + (expiresAt - System.currentTimeMillis()) / 2);
    }
  }

  private void cancelRefresh() {
    if (refreshTimer != null) {
      refreshTimer.cancel(false);
      refreshTimer = null;
    }
  }

  private void notifications(List<Notification> items) {
    List<Notification> fresh = new ArrayList<>();
    for (Notification n : items) {
      if (!seenIds.add(n.id())) {
        continue;
      }
      if (seenIds.size() > REMEMBERED_IDS) {
        seenIds.remove(seenIds.iterator().next());
      }
      fresh.add(n);
    }
    if (!fresh.isEmpty()) {
      List<Notification> batch = List.copyOf(fresh);
      tell("onNotifications", () -> listener.onNotifications(batch));
    }
  }

  private void answered(PresenceException error) {
    Request r = inFlight;
    inFlight = null;
    if (r != null) {
      slowDown.reset();
      if (error == null) {
        r.done.complete(null);
      } else {
        r.done.completeExceptionally(error);
      }
    }
    pump();
  }

  // ---------------------------------------------------------------------------------------------
  // Requests (on exec)

  private void enqueue(Request r) {
    if (stopped) {
      r.done.completeExceptionally(
          new PresenceException(PresenceException.NO_ERRNO, 0, "Client stopped"));
      return;
    }
    queue.addLast(r);
    pump();
  }

  /**
   * Keeps only the latest queued status: an older one not yet sent (or sent and not answered before
   * its session ended, or refused with 40) is dropped, and its future completes with the newer
   * one's outcome. After an outage the node gets the device's current status, not every status it
   * went through, at one a second.
   */
  private void mergeStatuses() {
    Request latest = null;
    for (Iterator<Request> it = queue.descendingIterator(); it.hasNext(); ) {
      Request r = it.next();
      if (r.status == null) {
        continue;
      }
      if (latest == null) {
        latest = r;
        continue;
      }
      it.remove();
      CompletableFuture<Void> older = r.done;
      latest.done.whenComplete(
          (v, e) -> {
            if (e != null) {
              older.completeExceptionally(e);
            } else {
              older.complete(null);
            }
          });
    }
  }

  private void pump() {
    mergeStatuses();
    if (inFlight != null || pausedForSlowDown || session == null || queue.isEmpty()) {
      return;
    }
    Request r = queue.pollFirst();
    inFlight = r;
    String sid = session;
    if (r.assertion != null) {
      send(DeviceFrames.refresh(r.assertion));
    } else if (r.status != null) {
      send(DeviceFrames.status(sid, r.status.status(), r.status.message()));
    } else {
      send(
          "dismiss".equals(r.type)
              ? DeviceFrames.dismiss(sid, r.ids)
              : DeviceFrames.acknowledge(sid, r.ids));
    }
  }

  private void send(String text) {
    WebSocket ws = socket;
    int gen = generation;
    sending =
        sending
            .handle((w, e) -> ws.sendText(text, true))
            .thenCompose(s -> s)
            .whenCompleteAsync(
                (w, e) -> {
                  if (e != null) {
                    lost(gen, new PresenceException("Send failed", unwrap(e)));
                  }
                },
                exec);
  }

  private void failAll(PresenceException why) {
    if (inFlight != null) {
      inFlight.done.completeExceptionally(why);
      inFlight = null;
    }
    for (Request r : queue) {
      r.done.completeExceptionally(why);
    }
    queue.clear();
  }

  /** Settings of a {@link DeviceClient}. */
  public static final class Builder {
    private final URI uri;
    private Supplier<? extends CompletionStage<String>> tokens;
    private String device;
    private long[] applicationIds;
    private Listener listener = new Listener() {};
    private Backoff backoff = Backoff.defaults();
    private Backoff slowDown = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(30));
    private HttpClient http;
    private Duration answerTimeout = Duration.ofSeconds(15);
    private Duration idleTimeout = Duration.ofSeconds(75);
    private Duration stableAfter = Duration.ofSeconds(30);
    private Duration refreshFloor = Duration.ofSeconds(30);

    private Builder(URI uri) {
      this.uri = Objects.requireNonNull(uri, "uri");
    }

    /**
     * Where identity tokens come from: called before every connect. A supplier that refreshes
     * tokens before they expire is the hook for sign-in renewal.
     */
    public Builder tokens(Supplier<? extends CompletionStage<String>> tokens) {
      this.tokens = tokens;
      return this;
    }

    /** A fixed token, or one read each time from a blocking {@code Supplier}. */
    public Builder token(Supplier<String> token) {
      this.tokens = () -> CompletableFuture.supplyAsync(token);
      return this;
    }

    /** The device's stable id (1–64 of {@code A-Z a-z 0-9 . _ : -}); recommended. */
    public Builder device(String device) {
      this.device = device;
      return this;
    }

    /** The applications this device's presence goes to (default: every one the user granted). */
    public Builder applicationIds(long... ids) {
      this.applicationIds = ids.clone();
      return this;
    }

    public Builder listener(Listener listener) {
      this.listener = Objects.requireNonNull(listener);
      return this;
    }

    /** The reconnect backoff (default: 500 ms doubling to 30 s, full jitter). */
    public Builder backoff(Backoff backoff) {
      this.backoff = Objects.requireNonNull(backoff);
      return this;
    }

    /** The wait after errno 40 before a request is sent again (default: 1 s doubling to 30 s). */
    public Builder slowDownBackoff(Backoff slowDown) {
      this.slowDown = Objects.requireNonNull(slowDown);
      return this;
    }

    /** The JDK client to open sockets with (default: a new one). */
    public Builder httpClient(HttpClient http) {
      this.http = http;
      return this;
    }

    /** How long to wait for the socket and the connect answer (default 15 s). */
    public Builder answerTimeout(Duration timeout) {
      this.answerTimeout = timeout;
      return this;
    }

    /**
     * After how long without a frame or ping from the node the socket counts as dead (default 75 s;
     * the node pings a silent socket every 30 s).
     */
    public Builder idleTimeout(Duration timeout) {
      this.idleTimeout = timeout;
      return this;
    }

    /**
     * How long a session must stay up before the reconnect backoff starts again from its first wait
     * (default 30 s): sessions that end sooner count as failed attempts.
     */
    public Builder resetBackoffAfter(Duration stable) {
      this.stableAfter = Objects.requireNonNull(stable);
      return this;
    }

    /** The least wait between refreshes the node accepted (30 s); shorter only in tests. */
    Builder refreshFloor(Duration floor) {
      this.refreshFloor = Objects.requireNonNull(floor);
      return this;
    }

    /** A started client. */
    public DeviceClient start() {
      if (tokens == null) {
        throw new IllegalStateException("a token supplier is required");
      }
      return new DeviceClient(this).start();
    }
  }
}
