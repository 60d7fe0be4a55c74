package org.presence.gateway.webhook;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.failsafe.Execution;
import dev.failsafe.RetryPolicy;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.presence.gateway.app.AppCache;
import org.presence.gateway.config.WebhooksConfig;
import org.presence.gateway.fanout.AppUpdatePublisher;
import org.presence.gateway.fanout.SnapshotReader;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.metrics.LatencyHistograms;
import org.presence.gateway.outbound.GuardedHttpClient;
import org.presence.gateway.outbound.OutboundException;
import org.presence.gateway.retry.RetryWaits;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.json.Json;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.app.AppRepository;
import org.presence.store.app.Application;
import org.presence.store.exec.StoreExecutors;
import org.presence.store.updates.AppUpdate;
import org.presence.store.updates.AppUpdateLog;
import org.presence.store.updates.OneApp;
import org.presence.store.updates.WebhookState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Calls applications' webhooks (seed 000): {@code POST <webhook URL>} with body {@code [["<PUID>",
 * "away"], ["<PUID>", "online"]]}, at most once per {@link WebhooksConfig#interval()} per
 * application, carrying every update since the last call, the latest per PUID, signed ({@link
 * WebhookSignature}).
 *
 * <p>Driven by the application's update log, not by memory: each application's webhook has a cursor
 * (the last update number delivered) in {@link WebhookState}, advanced only when a call succeeds
 * (any 2xx). A call that fails (timeout, connection refused, any other status, a redirect, an
 * answer larger than the cap) is retried with the same updates and any newer ones, after a wait
 * doubling from the interval up to {@link WebhooksConfig#maxBackoff()} plus jitter ({@link
 * RetryWaits}); so nothing within the log's hour is lost. Every call goes through the {@link
 * GuardedHttpClient}, which checks the address again each time and bounds the time and the answer's
 * size. A call whose 2xx answer is malformed (a body cut short, a bad header) is a failure.
 *
 * <p>Fair shares: {@link WebhooksConfig#maxInFlight()} bounds the calls a node makes at once and
 * {@link WebhooksConfig#maxInFlightPerDeveloper()} those of one developer's applications ({@link
 * CallSlots}); calls that cannot start wait in order, the developers taking turns, so a hanging
 * endpoint holds one slot for at most the timeout and slow applications cannot keep the others out.
 * A success that took {@link WebhooksConfig#slowCall()} or longer delivers its updates but backs
 * off like a failure, so a slow endpoint is called less and less often.
 *
 * <p>Only an active application's webhook is called: when an application is deactivated (or its
 * webhook removed), its sender stops at once (a call in flight is abandoned) on whichever node runs
 * it.
 *
 * <p>In a cluster exactly one node sends each application's webhook: the one holding its lease
 * ({@link WebhookState#acquire}), renewed while it sends. A node that appends an update for an
 * application with a webhook tries to take the lease; a sweep takes up the leases of nodes that
 * died. A sender with nothing to send for {@link WebhooksConfig#idle()} gives the lease up.
 *
 * <p>A webhook whose position is not known, or not in the log, gets a <em>snapshot call</em>, the
 * channel's fresh snapshot in the webhook's form: the same body, listing every user of the
 * application who is not offline (a user it does not list is offline), and the delivery id {@code
 * <appid>:0-<N>} (every update up to N; no update is numbered 0), N being the log's position read
 * before the users' presence, so the calls that follow carry the updates after N. It goes in parts
 * of at most {@link #userLimit} users and {@link WebhooksConfig#maxBodyBytes()} bytes, each read
 * when it is sent (the node holds one part), each with the same delivery id and {@link
 * #SNAPSHOT_HEADER} ({@code part=<n>}, {@code part=<n>; last}); a part follows the previous one at
 * once; a part that fails starts the snapshot again from part 1 at the next try (a fresh position);
 * the position becomes N only when the last part succeeded. A webhook that answers {@code 413} gets
 * calls of half as many users from then on ({@link #lowerLimit}), on this node. That is the case of
 * every webhook after the embedded node restarts (its positions and log are in memory: {@link
 * #start} gives each application with a webhook the {@linkplain WebhookState.Cursor#UNKNOWN unknown
 * position} before the node takes devices), at a cluster node's start for an application whose
 * position Redis no longer holds ({@link #recover}; a Redis that loses its data while the nodes run
 * is not noticed this way), and of a webhook that failed for longer than the log keeps.
 */
public final class WebhookDispatcher implements AppUpdatePublisher.Listener, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WebhookDispatcher.class);

  /** What a call that got an answer, but not a prompt 2xx, counts as in its run of failures. */
  private static final Exception UNSUCCESSFUL =
      new Exception("no prompt 2xx answer", null, false, false) {};

  /** Page size of log reads when collecting a call. */
  private static final int READ_PAGE = 1000;

  /** Users read per page for a snapshot call. */
  private static final int SNAPSHOT_PAGE = 500;

  /** Applications read per page when looking for webhooks whose position is not known. */
  private static final int RECOVER_PAGE = 500;

  /** How long {@link #start} waits for the look for webhooks whose position is not known. */
  private static final long RECOVER_WAIT_MS = 10_000;

  /** How long a node waits before trying again to take an application's lease it saw held. */
  private static final long RETRY_TAKE_MS = 1000;

  /** The header naming a call's update numbers, for receivers that drop repeated deliveries. */
  public static final String DELIVERY_HEADER = "X-Presence-Delivery";

  /** The header marking a test call sent from the developer portal (body {@code []}). */
  public static final String TEST_HEADER = "X-Presence-Test";

  /**
   * The header of each part of a snapshot call: {@code part=<n>}, numbered from 1, and {@code
   * part=<n>; last} on the last part.
   */
  public static final String SNAPSHOT_HEADER = "X-Presence-Snapshot";

  /**
   * The fewest users a webhook's calls are cut down to after {@code 413} answers: a call of this
   * many or fewer that gets a {@code 413} is an ordinary failure.
   */
  public static final int MIN_CALL_USERS = 100;

  private final WebhooksConfig config;
  private final RetryPolicy<Object> backoff;
  private final String nodeId;
  private final WebhookState state;
  private final AppUpdateLog log;
  private final AppCache apps;
  private final AppRepository appRepository;
  private final SnapshotReader snapshots;
  private final GuardedHttpClient http;
  private final ScheduledExecutorService timers;
  private final CallSlots slots;
  private final Map<Long, Sender> senders = new ConcurrentHashMap<>();
  private final Map<Long, Long> lastTake = new ConcurrentHashMap<>();
  private final DeliveryLog deliveries = new DeliveryLog();

  /** Applications with a test call in flight: at most one each. */
  private final java.util.Set<Long> testing = ConcurrentHashMap.newKeySet();

  /**
   * The users per call of the applications whose webhook answered {@code 413} on this node (below
   * {@link WebhooksConfig#maxBatch()}); kept until the node stops, one number per such application.
   */
  private final Map<Long, Integer> userLimits = new ConcurrentHashMap<>();

  private final Counter callsOk;
  private final LatencyHistograms latency;
  private final Counter callsFailed;
  private final Counter lost;
  private final Counter slowCalls;
  private final Counter snapshotCalls;
  private final Counter limitLowered;
  private volatile ScheduledFuture<?> sweeper;
  private volatile boolean closed;

  public WebhookDispatcher(
      WebhooksConfig config,
      String nodeId,
      WebhookState state,
      AppUpdateLog log,
      AppCache apps,
      AppRepository appRepository,
      SnapshotReader snapshots,
      GuardedHttpClient http,
      GatewayMetrics metrics) {
    this.config = config;
    this.backoff = RetryWaits.backoff(config.interval(), config.maxBackoff()).build();
    this.nodeId = nodeId;
    this.state = state;
    this.log = log;
    this.apps = apps;
    this.appRepository = appRepository;
    this.snapshots = snapshots;
    this.http = http;
    this.timers =
        Executors.newSingleThreadScheduledExecutor(StoreExecutors.named("webhook-timers-"));
    this.slots = new CallSlots(config.maxInFlight(), config.maxInFlightPerDeveloper(), timers);
    this.callsOk = metrics.registry().counter("presence.webhooks.calls_ok");
    this.latency = metrics.latency();
    this.callsFailed = metrics.registry().counter("presence.webhooks.calls_failed");
    this.lost = metrics.registry().counter("presence.webhooks.updates_lost");
    this.slowCalls = metrics.registry().counter("presence.webhooks.calls_slow");
    this.snapshotCalls = metrics.registry().counter("presence.webhooks.snapshots");
    this.limitLowered = metrics.registry().counter("presence.webhooks.limit_lowered");
    metrics.registry().register("presence.webhooks.senders", (Gauge<Integer>) senders::size);
    metrics.registry().register("presence.webhooks.waiting", (Gauge<Integer>) slots::waiting);
    apps.onChange(this::appChanged);
  }

  /**
   * An application changed (on any node): when it is no longer active or has no webhook, the sender
   * this node runs for it stops now, abandoning a call in flight.
   */
  private void appChanged(long appId) {
    if (!senders.containsKey(appId)) {
      return;
    }
    apps.find(appId)
        .whenComplete(
            (app, e) -> {
              Sender s = senders.get(appId);
              if (e == null && s != null && !callable(app)) {
                LOG.info("app {}: deactivated or webhook removed; its webhook stops", appId);
                s.abandon();
              }
            });
  }

  /** Whether {@code app}'s webhook may be called: it is active and has one. */
  private static boolean callable(Optional<Application> app) {
    return app.isPresent()
        && app.get().active()
        && app.get().webhookUrl() != null
        && app.get().webhookSecret() != null;
  }

  /**
   * Gives the applications whose webhook position is not known the unknown position ({@link
   * #recover}), waiting for it at most {@link #RECOVER_WAIT_MS} so that it comes before the node
   * takes devices, then starts the sweep that takes up applications whose sender's node is gone.
   */
  public void start() {
    try {
      recover().toCompletableFuture().get(RECOVER_WAIT_MS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      LOG.warn("cannot look for webhooks whose position is not known: {}", e.toString());
    }
    long every = Math.max(100, config.leaseTtl().toMillis() / 2);
    sweeper = timers.scheduleWithFixedDelay(this::sweep, every, every, TimeUnit.MILLISECONDS);
  }

  /**
   * Gives every application with a webhook and no stored position (a new node's memory, or a Redis
   * that lost its data) the {@linkplain WebhookState.Cursor#UNKNOWN unknown position}, and starts
   * the senders of the active ones: their next call is a snapshot call. A stored position is kept.
   */
  public CompletionStage<Void> recover() {
    return recoverAfter(0);
  }

  private CompletionStage<Void> recoverAfter(long afterId) {
    return appRepository
        .listWithWebhook(afterId, RECOVER_PAGE)
        .thenCompose(
            list -> {
              List<CompletableFuture<Void>> work = new ArrayList<>(list.size());
              for (Application app : list) {
                WebhookState.Cursor unknown =
                    new WebhookState.Cursor(WebhookState.Cursor.UNKNOWN, 0);
                work.add(
                    state
                        .initCursor(app.id(), unknown)
                        .thenCompose(
                            c ->
                                c.unknown() && callable(Optional.of(app))
                                    ? take(app.id())
                                    : CompletableFuture.<Void>completedFuture(null))
                        .toCompletableFuture());
              }
              CompletableFuture<Void> all =
                  CompletableFuture.allOf(work.toArray(new CompletableFuture[0]));
              return list.size() < RECOVER_PAGE
                  ? all
                  : all.thenCompose(v -> recoverAfter(list.get(list.size() - 1).id()));
            });
  }

  /** Whether this node sends {@code appId}'s webhook now (tests). */
  public boolean sending(long appId) {
    return senders.containsKey(appId);
  }

  @Override
  public void appended(long appId, List<AppUpdate> updates) {
    appendedAll(OneApp.of(appId, updates));
  }

  /**
   * Nudges the senders this node runs for these applications, and for the others (at most once a
   * {@link #RETRY_TAKE_MS} each) looks them up together, in one cache call ({@link
   * AppCache#findAll}: one database call for those not cached, however many applications a user's
   * change reaches), then tries to take the lease of each whose webhook may be called.
   */
  @Override
  public void appendedAll(Map<Long, List<AppUpdate>> numberedByApp) {
    if (closed) {
      return;
    }
    long now = System.currentTimeMillis();
    // Application -> the update before the first heard, for those to look up; made only when
    // there is one (this runs for every status change: one whose applications' senders all run
    // here, or that none may take yet, allocates nothing, and a one-application change, the
    // usual case, is read without walking map entries).
    Map<Long, Long> before = null;
    if (numberedByApp instanceof OneApp<List<AppUpdate>> one) {
      long first = toLookUp(one.app(), one.value(), now);
      if (first != NOTHING) {
        before = Map.of(one.app(), first);
      }
    } else {
      for (Map.Entry<Long, List<AppUpdate>> e : numberedByApp.entrySet()) {
        long first = toLookUp(e.getKey(), e.getValue(), now);
        if (first != NOTHING) {
          if (before == null) {
            before = new HashMap<>();
          }
          before.put(e.getKey(), first);
        }
      }
    }
    if (before == null) {
      return;
    }
    Map<Long, Long> toTake = before;
    apps.findAll(toTake.keySet())
        .whenComplete(
            (found, e) -> {
              if (e != null) {
                // One line for the whole delivery, not one per application.
                if (toTake.size() == 1) {
                  LOG.warn(
                      "app {}: cannot start its webhook sender: {}",
                      toTake.keySet().iterator().next(),
                      e.toString());
                } else {
                  LOG.warn(
                      "{} apps (ids {}): cannot start their webhook senders: {}",
                      toTake.size(),
                      toTake.keySet().stream().sorted().limit(10).toList(),
                      e.toString());
                }
                return;
              }
              toTake.forEach(
                  (appId, first) -> {
                    if (callable(found.getOrDefault(appId, Optional.empty()))) {
                      // A new webhook starts with the first update it hears of; an existing one
                      // keeps its place.
                      state
                          .initCursor(appId, new WebhookState.Cursor(first, 0))
                          .thenCompose(c -> take(appId))
                          .whenComplete(
                              (v, failed) -> {
                                if (failed != null) {
                                  LOG.warn(
                                      "app {}: cannot start its webhook sender: {}",
                                      appId,
                                      failed.toString());
                                }
                              });
                    }
                  });
            });
  }

  /** What {@link #toLookUp} answers when the application needs no look-up. */
  private static final long NOTHING = -1;

  /**
   * For {@link #appendedAll}: nudges {@code appId}'s sender when this node runs it and answers
   * {@link #NOTHING}, as it does when there are no updates or the application was tried less than
   * {@link #RETRY_TAKE_MS} ago; else records the try and answers the number of the update before
   * the first heard (where a new webhook starts).
   */
  private long toLookUp(Long appId, List<AppUpdate> updates, long now) {
    if (updates.isEmpty()) {
      return NOTHING;
    }
    Sender running = senders.get(appId);
    if (running != null) {
      running.nudge();
      return NOTHING;
    }
    Long last = lastTake.get(appId);
    if (last != null && now - last < RETRY_TAKE_MS) {
      return NOTHING;
    }
    lastTake.put(appId, now);
    return updates.get(0).seq() - 1;
  }

  private CompletionStage<Void> take(long appId) {
    if (closed || senders.containsKey(appId)) {
      return CompletableFuture.completedFuture(null);
    }
    return state
        .acquire(appId, nodeId, config.leaseTtl())
        .thenAccept(
            mine -> {
              if (mine && !closed) {
                Sender s = new Sender(appId);
                if (senders.putIfAbsent(appId, s) == null) {
                  s.begin();
                }
              }
            });
  }

  private void sweep() {
    if (closed) {
      return;
    }
    state
        .pending()
        .whenComplete(
            (apps, e) -> {
              if (e != null) {
                LOG.warn("cannot list pending webhooks: {}", e.toString());
                return;
              }
              for (long app : apps) {
                if (!senders.containsKey(app)) {
                  take(app);
                }
              }
            });
  }

  /** The body of a call: {@code [["<PUID>", "<status>"], ...]}. */
  static byte[] body(Map<String, AppUpdate> latest) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(64 + latest.size() * 64);
    try (JsonGenerator g = Json.documents().createGenerator(out)) {
      g.writeStartArray();
      for (AppUpdate u : latest.values()) {
        g.writeStartArray();
        g.writeString(u.puid());
        g.writeString(u.status().wireName());
        g.writeEndArray();
      }
      g.writeEndArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /**
   * At least the bytes one user takes in a body, {@code ["<PUID>","<status>"]} and a comma: exact
   * for a PUID of printable ASCII without quotes or backslashes (as every PUID is), six bytes for
   * any other character (its longest encoding, an escape). A body of users is at most 2 bytes
   * ({@code []}) more than the sum of theirs.
   */
  static int entryBytes(String puid, PresenceStatus status) {
    int n = 0;
    for (int i = 0; i < puid.length(); i++) {
      char c = puid.charAt(i);
      n += c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? 1 : 6;
    }
    return n + status.wireName().length() + 8;
  }

  /**
   * The body of a snapshot call's part, in the form of every call: {@code [["<PUID>", "<status>"],
   * ...]}, users of the application who are not offline.
   */
  static byte[] snapshotBody(Map<String, PresenceStatus> users) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(64 + users.size() * 64);
    try (JsonGenerator g = Json.documents().createGenerator(out)) {
      g.writeStartArray();
      for (Map.Entry<String, PresenceStatus> u : users.entrySet()) {
        g.writeStartArray();
        g.writeString(u.getKey());
        g.writeString(u.getValue().wireName());
        g.writeEndArray();
      }
      g.writeEndArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** The first update number of a snapshot call's delivery id: no update is numbered 0. */
  public static final long SNAPSHOT_FIRST_SEQ = 0;

  /**
   * Updates gathered for one call; or, with {@code part}, a part of a snapshot call standing at
   * {@code lastSeq} ({@code firstSeq} {@link #SNAPSHOT_FIRST_SEQ} and {@code latest} empty).
   */
  private record Batch(
      Map<String, AppUpdate> latest, long firstSeq, long lastSeq, long tooOldAt, Part part) {
    Batch(Map<String, AppUpdate> latest, long firstSeq, long lastSeq, long tooOldAt) {
      this(latest, firstSeq, lastSeq, tooOldAt, null);
    }

    boolean tooOld() {
      return tooOldAt >= 0;
    }

    byte[] body() {
      return part != null ? part.body() : WebhookDispatcher.body(latest);
    }

    int users() {
      return part != null ? part.users() : latest.size();
    }
  }

  /**
   * One part of a snapshot call.
   *
   * @param body its body
   * @param users the users it lists
   * @param number its number, from 1
   * @param last whether no user of the application comes after it (it ends the snapshot)
   * @param end the PUID the next part reads after
   */
  private record Part(byte[] body, int users, int number, boolean last, String end) {
    /** Its {@link #SNAPSHOT_HEADER} value. */
    String header() {
      return "part=" + number + (last ? "; last" : "");
    }
  }

  /**
   * The users of a snapshot call's part as they are read: at most {@code maxUsers}, and a body of
   * at most {@code maxBytes} (one user always fits, so that every part moves on).
   */
  private static final class PartReading {
    final LinkedHashMap<String, PresenceStatus> users = new LinkedHashMap<>();
    final int maxUsers;
    final int maxBytes;
    long bytes = 2;

    PartReading(int maxUsers, int maxBytes) {
      this.maxUsers = maxUsers;
      this.maxBytes = maxBytes;
    }

    /** Adds the user, or answers false when the body would be too large with them. */
    boolean add(String puid, PresenceStatus status) {
      int b = entryBytes(puid, status);
      if (!users.isEmpty() && bytes + b > maxBytes) {
        return false;
      }
      users.put(puid, status);
      bytes += b;
      return true;
    }

    int room() {
      return maxUsers - users.size();
    }
  }

  /** A snapshot call under way: its position, and the next part's number and start. */
  private static final class SnapshotRun {
    final long position;
    int part = 1;
    String after = "";

    SnapshotRun(long position) {
      this.position = position;
    }
  }

  /**
   * The most users in one call of {@code appId}'s webhook: {@link WebhooksConfig#maxBatch()}, or
   * less after {@code 413} answers ({@link #lowerLimit}).
   */
  int userLimit(long appId) {
    Integer lowered = userLimits.get(appId);
    return lowered == null ? config.maxBatch() : Math.min(config.maxBatch(), lowered);
  }

  /**
   * {@code appId}'s webhook answered {@code 413} to a call of {@code users} users: its calls carry
   * at most half as many from now on, down to {@link #MIN_CALL_USERS}. Answers false (nothing
   * changes) when the call carried that many or fewer.
   */
  private boolean lowerLimit(long appId, int users, int bytes) {
    if (users <= MIN_CALL_USERS) {
      return false;
    }
    int lowered = Math.max(MIN_CALL_USERS, users / 2);
    userLimits.merge(appId, lowered, Math::min);
    limitLowered.inc();
    LOG.warn(
        "app {}: webhook answered 413 (too large) to a call of {} users ({} bytes); its calls"
            + " carry at most {} users from now on (until this node stops)",
        appId,
        users,
        bytes,
        userLimit(appId));
    return true;
  }

  /** One application's webhook on this node, while it holds the lease. Steps run one at a time. */
  private final class Sender {
    private final long appId;

    /** The failures (and slow answers) in a row since the last prompt success, or null. */
    private Execution<Object> failures;

    private long nextAttemptMillis;
    private long lastBusyMillis = System.currentTimeMillis();
    private volatile boolean stopped;
    private ScheduledFuture<?> renewer;

    /** Set while the sender, with nothing to send, waits an interval before looking again. */
    private final AtomicBoolean idleWait = new AtomicBoolean();

    private volatile ScheduledFuture<?> idlePoll;

    /** The call waiting for a slot, or null. */
    private volatile CallSlots.Ticket ticket;

    /** The call in flight, or null. */
    private volatile CompletableFuture<GuardedHttpClient.Response> inFlight;

    /** The snapshot call whose parts are being sent, or null. */
    private SnapshotRun snap;

    Sender(long appId) {
      this.appId = appId;
    }

    void begin() {
      long every = Math.max(50, config.leaseTtl().toMillis() / 3);
      try {
        renewer = timers.scheduleWithFixedDelay(this::renew, every, every, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        stop();
        return;
      }
      schedule(0);
    }

    private void renew() {
      state
          .renew(appId, nodeId, config.leaseTtl())
          .whenComplete(
              (ok, e) -> {
                if (e == null && !ok) {
                  LOG.info("app {}: another node took over its webhook", appId);
                  stop();
                }
              });
    }

    private void schedule(long delayMs) {
      if (stopped || closed) {
        return;
      }
      try {
        timers.schedule(this::step, Math.max(0, delayMs), TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        stop();
      }
    }

    /** An update came: a sender waiting idle looks now (the interval still applies). */
    void nudge() {
      if (idleWait.compareAndSet(true, false)) {
        ScheduledFuture<?> f = idlePoll;
        if (f != null) {
          f.cancel(false);
        }
        schedule(0);
      }
    }

    private void waitIdle() {
      if (stopped || closed) {
        return;
      }
      idleWait.set(true);
      try {
        idlePoll =
            timers.schedule(
                () -> {
                  if (idleWait.compareAndSet(true, false)) {
                    step();
                  }
                },
                config.interval().toMillis(),
                TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        stop();
      }
    }

    private void stop() {
      stopped = true;
      if (renewer != null) {
        renewer.cancel(false);
      }
      senders.remove(appId, this);
    }

    /** Stops now and gives the lease up: the application may not be called any more. */
    void abandon() {
      if (stopped) {
        return;
      }
      CallSlots.Ticket t = ticket;
      if (t != null) {
        t.cancel();
      }
      ScheduledFuture<?> f = idlePoll;
      if (f != null) {
        f.cancel(false);
      }
      finish(true);
      CompletableFuture<GuardedHttpClient.Response> call = inFlight;
      if (call != null) {
        call.cancel(false); // closes its connection
      }
    }

    private void step() {
      if (stopped) {
        return;
      }
      apps.find(appId)
          .thenCombine(
              state.cursor(appId),
              (app, cursor) -> {
                proceed(app, cursor);
                return null;
              })
          .whenComplete(
              (v, e) -> {
                if (e != null) {
                  LOG.warn("app {}: webhook step failed: {}", appId, e.toString());
                  schedule(config.interval().toMillis());
                }
              });
    }

    private void proceed(Optional<Application> app, Optional<WebhookState.Cursor> found) {
      if (!callable(app)) {
        finish(true);
        return;
      }
      if (found.isEmpty()) {
        snap = null;
        // The cursor expired (idle for hours): start at the log's end.
        log.lastSeq(appId)
            .thenCompose(last -> state.initCursor(appId, new WebhookState.Cursor(last, 0)))
            .whenComplete((c, e) -> schedule(e == null ? 0 : config.interval().toMillis()));
        return;
      }
      WebhookState.Cursor cursor = found.get();
      if (snap != null) {
        // The next part of a snapshot call follows the previous one at once.
        snapshotPart(app.get(), cursor, snap);
        return;
      }
      long now = System.currentTimeMillis();
      long due =
          Math.max(cursor.lastCallMillis() + config.interval().toMillis(), nextAttemptMillis);
      if (now < due) {
        schedule(due - now);
        return;
      }
      if (cursor.unknown()) {
        snapshot(app.get(), cursor);
        return;
      }
      collect(cursor.seq(), new LinkedHashMap<>(), -1, userLimit(appId), 2)
          .whenComplete(
              (batch, e) -> {
                if (e != null) {
                  LOG.warn("app {}: cannot read its update log: {}", appId, e.toString());
                  schedule(config.interval().toMillis());
                } else if (batch.tooOld()) {
                  lost.inc();
                  LOG.warn(
                      "app {}: webhook position {} is not in the update log (older than it keeps,"
                          + " or the log was lost); sending a snapshot call",
                      appId,
                      cursor.seq());
                  snapshot(app.get(), cursor);
                } else if (batch.latest().isEmpty()) {
                  if (System.currentTimeMillis() - lastBusyMillis >= config.idle().toMillis()) {
                    finish(false);
                  } else {
                    waitIdle();
                  }
                } else {
                  call(app.get(), cursor, batch);
                }
              });
    }

    /**
     * Starts a snapshot call: the log's position read first, then every user not offline, in parts
     * ({@link #snapshotPart}), so every update after the position follows in later calls, and none
     * is lost.
     */
    private void snapshot(Application app, WebhookState.Cursor cursor) {
      log.lastSeq(appId)
          .whenComplete(
              (position, e) -> {
                if (e != null) {
                  LOG.warn(
                      "app {}: cannot read a snapshot for its webhook: {}", appId, e.toString());
                  schedule(config.interval().toMillis());
                } else {
                  snap = new SnapshotRun(position);
                  snapshotPart(app, cursor, snap);
                }
              });
    }

    /** Reads the next part of the snapshot call {@code run} and makes its call. */
    private void snapshotPart(Application app, WebhookState.Cursor cursor, SnapshotRun run) {
      int number = run.part;
      readPart(run.after, run.after, new PartReading(userLimit(appId), config.maxBodyBytes()))
          .whenComplete(
              (read, e) -> {
                if (e != null) {
                  LOG.warn(
                      "app {}: cannot read a snapshot for its webhook: {}", appId, e.toString());
                  snap = null; // the next try starts the snapshot again
                  schedule(config.interval().toMillis());
                } else {
                  Part part =
                      new Part(
                          snapshotBody(read.reading().users),
                          read.reading().users.size(),
                          number,
                          read.last(),
                          read.end());
                  call(
                      app, cursor, new Batch(Map.of(), SNAPSHOT_FIRST_SEQ, run.position, -1, part));
                }
              });
    }

    /** A part read: its users, the PUID the next part reads after, whether none follows. */
    private record PartRead(PartReading reading, String end, boolean last) {}

    /**
     * Reads users after {@code after} into {@code reading} a page at a time, until the part is full
     * (the next user not offline does not fit: the next part starts with it) or no user follows.
     * Pages are whole whatever the room left (a page cut to the room cost a database query and a
     * state read per offline user once a part was nearly full); what a page holds past the part is
     * read again for the next part. {@code end} is the last PUID taken (or skipped, offline) so
     * far.
     */
    private CompletionStage<PartRead> readPart(String after, String end, PartReading reading) {
      return snapshots
          .page(appId, after, SNAPSHOT_PAGE)
          .thenCompose(
              page -> {
                String taken = end;
                for (SnapshotReader.Entry en : page.entries()) {
                  if (en.status() != PresenceStatus.OFFLINE
                      && (reading.room() <= 0 || !reading.add(en.puid(), en.status()))) {
                    // The part is full: the next part starts with this user.
                    return CompletableFuture.completedFuture(new PartRead(reading, taken, false));
                  }
                  taken = en.puid();
                }
                if (page.last()) {
                  return CompletableFuture.completedFuture(new PartRead(reading, taken, true));
                }
                return readPart(page.lastPuid(), taken, reading);
              });
    }

    /**
     * Reads the log after {@code from}, the latest update per PUID, up to {@code limit} PUIDs and
     * {@link WebhooksConfig#maxBodyBytes()} of body ({@code bytes} so far, {@link #entryBytes}).
     */
    private CompletionStage<Batch> collect(
        long from, LinkedHashMap<String, AppUpdate> latest, long first, int limit, long bytes) {
      return log.readSince(appId, from, READ_PAGE)
          .thenCompose(
              read -> {
                if (read.outcome() != AppUpdateLog.Outcome.OK) {
                  return CompletableFuture.completedFuture(
                      new Batch(latest, first, from, read.lastSeq()));
                }
                long last = from;
                long firstSeq = first;
                long size = bytes;
                for (AppUpdate u : read.updates()) {
                  AppUpdate earlier = latest.get(u.puid());
                  long grown =
                      size
                          + entryBytes(u.puid(), u.status())
                          - (earlier == null ? 0 : entryBytes(u.puid(), earlier.status()));
                  if (!latest.isEmpty()
                      && ((earlier == null && latest.size() >= limit)
                          || grown > config.maxBodyBytes())) {
                    // Full: this update and the later ones go in the next call.
                    return CompletableFuture.completedFuture(new Batch(latest, firstSeq, last, -1));
                  }
                  size = grown;
                  // Re-inserted, so the body lists users in the order of their latest update.
                  latest.remove(u.puid());
                  latest.put(u.puid(), u);
                  last = u.seq();
                  if (firstSeq < 0) {
                    firstSeq = u.seq();
                  }
                }
                if (read.more()) {
                  return collect(last, latest, firstSeq, limit, size);
                }
                return CompletableFuture.completedFuture(new Batch(latest, firstSeq, last, -1));
              });
    }

    private void call(Application app, WebhookState.Cursor cursor, Batch batch) {
      String developer = app.ownerSub();
      ticket = slots.request(developer, () -> send(app, developer, cursor, batch));
    }

    /** Makes the call, holding one of the node's slots (released when it ends). */
    private void send(Application app, String developer, WebhookState.Cursor cursor, Batch batch) {
      ticket = null;
      if (stopped) {
        slots.release(developer);
        return;
      }
      long started = System.currentTimeMillis();
      lastBusyMillis = started;
      byte[] body = batch.body();
      Map<String, String> headers = new LinkedHashMap<>();
      headers.put(DELIVERY_HEADER, appId + ":" + batch.firstSeq() + "-" + batch.lastSeq());
      if (batch.part() != null) {
        headers.put(SNAPSHOT_HEADER, batch.part().header());
      }
      CompletableFuture<GuardedHttpClient.Response> sent = post(app, body, headers);
      inFlight = sent;
      sent.whenComplete(
          (response, e) -> {
            inFlight = null;
            slots.release(developer);
            long took = System.currentTimeMillis() - started;
            if (e == null) {
              latency.webhookAnswered(response.status(), took);
            } else {
              latency.webhookFailed(failureKind(e), took);
            }
            if (!(e instanceof java.util.concurrent.CancellationException)) {
              // A call abandoned (the application deactivated) is not a delivery to show.
              deliveries.add(appId, delivery(started, response, e, took, batch.users(), false));
            }
            boolean ok = e == null && response.status() >= 200 && response.status() < 300;
            boolean slow = ok && took >= config.slowCall().toMillis();
            // A 413 lowers the users per call (down to a floor, where it is any failure).
            boolean smaller =
                e == null
                    && response.status() == 413
                    && lowerLimit(appId, batch.users(), body.length);
            WebhookState.Cursor next;
            Part part = batch.part();
            if (ok && part != null && !part.last()) {
              // A part of a snapshot call: the next follows at once; the position stays until the
              // last part is taken.
              callsOk.inc();
              SnapshotRun run = snap;
              if (run != null) {
                run.part = part.number() + 1;
                run.after = part.end();
              }
              next = new WebhookState.Cursor(cursor.seq(), started);
            } else if (ok) {
              callsOk.inc();
              if (part != null) {
                snapshotCalls.inc();
                snap = null;
              }
              next = new WebhookState.Cursor(batch.lastSeq(), started);
            } else {
              callsFailed.inc();
              // A failed part: the next try starts the snapshot again, from part 1.
              snap = null;
              next = new WebhookState.Cursor(cursor.seq(), started);
            }
            if (ok && !slow) {
              failures = null;
              nextAttemptMillis = 0;
            } else if (smaller) {
              // Tried again, smaller, after the interval, not backed off (lowerLimit logged it).
              nextAttemptMillis = 0;
            } else {
              // A failure, or a success that took too long: wait longer before the next call.
              if (failures == null) {
                failures = Execution.of(backoff);
              }
              long wait = RetryWaits.next(failures, e != null ? e : UNSUCCESSFUL);
              nextAttemptMillis = started + wait;
              if (slow && part != null && !part.last()) {
                slowCalls.inc();
                LOG.info(
                    "app {}: webhook answered snapshot part {} after {} ms; the next part follows at"
                        + " once, the calls after the snapshot back off",
                    appId,
                    part.number(),
                    took);
              } else if (slow) {
                slowCalls.inc();
                LOG.info(
                    "app {}: webhook answered after {} ms; next call in {} ms", appId, took, wait);
              } else {
                LOG.info(
                    "app {}: webhook call failed ({}); retry in {} ms",
                    appId,
                    e != null ? describe(e) : "status " + response.status(),
                    wait);
              }
            }
            if (stopped) {
              return; // abandoned: the lease is given up, the cursor stays where it was
            }
            state
                .saveCursor(appId, nodeId, next)
                .whenComplete(
                    (saved, x) -> {
                      if (x == null && !saved) {
                        LOG.info("app {}: lost its webhook lease during a call", appId);
                        stop();
                        return;
                      }
                      schedule(0);
                    });
          });
    }

    /** Stops and gives the lease up; {@code gone} when the webhook was removed. */
    private void finish(boolean gone) {
      stop();
      state
          .release(appId, nodeId, true)
          .thenCompose(v -> gone ? CompletableFuture.completedFuture(null) : recheck())
          .whenComplete(
              (v, e) -> {
                if (e != null) {
                  LOG.warn("app {}: cannot release its webhook lease: {}", appId, e.toString());
                }
              });
    }

    /** An update may have come between the last read and the release: start again if so. */
    private CompletionStage<Void> recheck() {
      return state
          .cursor(appId)
          .thenCombine(log.lastSeq(appId), (c, last) -> c.isPresent() && last > c.get().seq())
          .thenCompose(more -> more ? take(appId) : CompletableFuture.completedFuture(null));
    }
  }

  private static DeliveryLog.Delivery delivery(
      long started,
      GuardedHttpClient.Response response,
      Throwable e,
      long took,
      int users,
      boolean test) {
    return new DeliveryLog.Delivery(
        java.time.Instant.ofEpochMilli(started),
        e == null ? response.status() : 0,
        e == null ? "" : inWords(e),
        took,
        users,
        test);
  }

  /** {@code appId}'s recent webhook calls made by this node, newest first. */
  public List<DeliveryLog.Delivery> recentCalls(long appId) {
    return deliveries.recent(appId);
  }

  /**
   * POSTs {@code body} to {@code app}'s webhook, signed with its secret, with the headers of the
   * call's kind (a delivery's range and a snapshot part's, or the test mark); a request that cannot
   * be made fails the stage.
   */
  private CompletableFuture<GuardedHttpClient.Response> post(
      Application app, byte[] body, Map<String, String> kind) {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("Content-Type", "application/json");
    // A delivery's id is signed with its body (a test call has none: signed as empty); a
    // snapshot's part also gets a signature of its own, over its part header too.
    String delivery = kind.getOrDefault(DELIVERY_HEADER, "");
    headers.put(
        WebhookSignature.HEADER, WebhookSignature.sign(app.webhookSecret(), delivery, body));
    String part = kind.get(SNAPSHOT_HEADER);
    if (part != null) {
      headers.put(
          WebhookSignature.SNAPSHOT_HEADER,
          WebhookSignature.sign(app.webhookSecret(), delivery, part, body));
    }
    headers.putAll(kind);
    try {
      return http.send(
              GuardedHttpClient.Request.post(
                  URI.create(app.webhookUrl()),
                  headers,
                  body,
                  config.maxResponseBytes(),
                  config.timeout()))
          .toCompletableFuture();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Sends {@code app}'s webhook a signed test call now, whatever the application's state: body
   * {@code []} (no updates), header {@link #TEST_HEADER}. It changes no cursor and is logged like
   * any call. Fails with {@code INVALID_APP_STATE} when the application has no webhook or a test
   * call of it is already in flight.
   */
  public CompletionStage<DeliveryLog.Delivery> testCall(Application app) {
    if (app.webhookUrl() == null || app.webhookSecret() == null) {
      return CompletableFuture.failedFuture(
          new ProtocolException(ErrorCode.INVALID_APP_STATE, "no webhook URL is set"));
    }
    if (closed || !testing.add(app.id())) {
      return CompletableFuture.failedFuture(
          new ProtocolException(ErrorCode.INVALID_APP_STATE, "a test call is already under way"));
    }
    long started = System.currentTimeMillis();
    CompletableFuture<GuardedHttpClient.Response> sent =
        post(app, "[]".getBytes(java.nio.charset.StandardCharsets.UTF_8), Map.of(TEST_HEADER, "1"));
    return sent.handle(
        (response, e) -> {
          testing.remove(app.id());
          if (e != null) {
            LOG.info("app {}: webhook test call failed: {}", app.id(), describe(e));
          }
          DeliveryLog.Delivery d =
              delivery(started, response, e, System.currentTimeMillis() - started, 0, true);
          deliveries.add(app.id(), d);
          return d;
        });
  }

  /** The guarded client's failure kind of {@code t}, or {@code null}. */
  private static String failureKind(Throwable t) {
    Throwable e =
        t instanceof java.util.concurrent.CompletionException && t.getCause() != null
            ? t.getCause()
            : t;
    return e instanceof OutboundException oe ? oe.failure().name() : null;
  }

  private static String describe(Throwable t) {
    Throwable e =
        t instanceof java.util.concurrent.CompletionException && t.getCause() != null
            ? t.getCause()
            : t;
    return e instanceof OutboundException oe ? oe.describe() : e.toString();
  }

  /**
   * Why a call got no answer, as the developer sees it (delivery log, test call): a few fixed words
   * ({@link OutboundException#inWords()}), never the detail, which only the node's log gets.
   */
  private static String inWords(Throwable t) {
    Throwable e =
        t instanceof java.util.concurrent.CompletionException && t.getCause() != null
            ? t.getCause()
            : t;
    return e instanceof OutboundException oe ? oe.inWords() : "failed";
  }

  /** Senders this node runs now (tests). */
  public List<Long> senders() {
    return new ArrayList<>(senders.keySet());
  }

  /** Stops every sender and gives their leases up for another node to take. */
  @Override
  public void close() {
    closed = true;
    if (sweeper != null) {
      sweeper.cancel(false);
    }
    List<CompletableFuture<Void>> released = new ArrayList<>();
    for (Sender s : senders.values()) {
      s.stop();
      released.add(state.release(s.appId, nodeId, false).toCompletableFuture());
    }
    try {
      CompletableFuture.allOf(released.toArray(new CompletableFuture[0])).get(3, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warn("webhook leases not all released: {}", e.toString());
    }
    timers.shutdownNow();
  }
}
