package org.presence.gateway.notify;

import com.codahale.metrics.Counter;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.presence.gateway.device.DeviceRegistry;
import org.presence.gateway.device.LiveNotifications;
import org.presence.gateway.device.NotificationSink;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.metrics.LatencyHistograms;
import org.presence.gateway.trace.Tracing;
import org.presence.store.bus.PresenceBus;
import org.presence.store.permission.PuidRecord;
import org.presence.store.permission.PuidState;
import org.presence.store.presence.DeviceState;
import org.presence.store.presence.PresenceStateStore;
import org.presence.store.queue.Notification;
import org.presence.store.queue.NotificationQueues;
import org.presence.store.queue.RedisNotificationQueues;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers live notifications to connected devices (wiki section 6: "If the user is connected ...
 * it gets all the items from the queue and the queue is purged"), on every node.
 *
 * <h2>Paths</h2>
 *
 * <ul>
 *   <li><b>Connect.</b> A session that opens reads everything pending for its user (all
 *       applications) and pushes it.
 *   <li><b>Wake-up.</b> Once a batch is stored, the node that stored it looks up each user's
 *       devices in the {@link PresenceStateStore} (which names each session's node) and sends the
 *       new items to every node holding one: straight to its own sessions, through the bus channel
 *       {@code notifications.node.<node id>} to the others. Nothing polls. On Redis the store call
 *       that stores the batch does the lookup and the publishing itself ({@link #enqueueAndWake}:
 *       one script call on one Redis, no call per user).
 * </ul>
 *
 * The two cannot both miss an item: an item is stored before its devices are looked up, and a
 * session is claimed and registered before it reads what is pending; whichever comes second sees
 * the other. They may both deliver it, which the session's memory of pushed ids absorbs.
 *
 * <h2>Removal</h2>
 *
 * An item leaves its queue only after a write of it to a socket succeeded (the write future), by
 * id, through the {@link Remover}; the store says which items it really removed, and those alone
 * get their receipt ({@code delivered}, or {@code missed} when written past their ttl), so a
 * receipt goes out once even when several devices or nodes wrote the item. An item never written
 * stays queued for the user's next session.
 *
 * <h2>Answers</h2>
 *
 * A device's acknowledge or dismiss is checked against the {@link ResponseTracker} of its node
 * (what that node delivered to the user, still within its ttl); the first answer to a notification
 * across all nodes, as {@link NotificationQueues#claimAnswer} decides, gets the receipt ({@code
 * acted} or {@code dismissed}).
 *
 * <h2>Grants and receipts</h2>
 *
 * What a paused or revoked grant's PUID had waiting is never pushed: every push first asks the
 * {@link Grants} (the node's PUID cache, emptied on every node at each grant change) and drops the
 * items whose PUID is no longer active from the queue, without a receipt. No receipt of any kind
 * goes to an application whose grant for that PUID is not active when the receipt is decided. A
 * {@code delivered} or {@code missed} receipt also needs the session that wrote the item to show
 * the application a presence other than offline ({@link DeviceState#showsPresenceTo}), else the
 * receipt would tell the application of a device it cannot see; one written before the device set
 * any status waits for its first status (held per session, dropped when the session closes).
 */
public final class NotificationDelivery implements LiveNotifications {
  private static final Logger LOG = LoggerFactory.getLogger(NotificationDelivery.class);

  private final String nodeId;
  private final NotificationQueues queues;
  private final PresenceStateStore state;
  private final PresenceBus bus;
  private final DeviceRegistry registry;
  private final ResponseTracker tracker;
  private final Receipts receipts;
  private final Grants grants;
  private final Remover remover;
  private final Clock clock;
  private final java.util.concurrent.Executor work;
  private final Counter pushed;
  private final Counter removed;
  private final Tracing tracing;
  private final Counter wakesSent;
  private final Counter failures;
  private final LatencyHistograms latency;
  private volatile PresenceBus.Subscription subscription;
  private final Retries retries;
  private final SessionRereads rereads;

  NotificationDelivery(
      String nodeId,
      NotificationQueues queues,
      PresenceStateStore state,
      PresenceBus bus,
      DeviceRegistry registry,
      ResponseTracker tracker,
      Receipts receipts,
      Grants grants,
      Remover remover,
      Clock clock,
      java.util.concurrent.Executor work,
      GatewayMetrics metrics) {
    this.nodeId = nodeId;
    this.queues = queues;
    this.state = state;
    this.bus = bus;
    this.registry = registry;
    this.tracker = tracker;
    this.receipts = receipts;
    this.grants = grants;
    this.remover = remover;
    this.clock = clock;
    this.work = work;
    this.pushed = metrics.registry().counter("presence.notifications.written");
    this.removed = metrics.registry().counter("presence.notifications.delivered");
    this.tracing = metrics.tracing();
    this.wakesSent = metrics.registry().counter("presence.notifications.wakes.sent");
    this.failures = metrics.registry().counter("presence.notifications.delivery.failures");
    this.latency = metrics.latency();
    this.retries = new Retries(work);
    this.rereads =
        new SessionRereads(
            queues,
            registry,
            work,
            retries,
            failures,
            (session, items) -> push(session.user(), session, items));
  }

  /** What PUIDs mean now: {@link PuidDirectory#resolve}. */
  @FunctionalInterface
  interface Grants {
    /** The records of {@code puids} that exist. */
    CompletionStage<Map<String, PuidRecord>> resolve(Collection<String> puids);
  }

  /** The bus channel of node {@code nodeId}'s wake-ups. */
  public static String channel(String nodeId) {
    return CHANNEL_PREFIX + nodeId;
  }

  private static final String CHANNEL_PREFIX = "notifications.node.";

  /** Subscribes to this node's wake-ups; completes when other nodes can reach it. */
  CompletionStage<Void> start() {
    // A wake-up published while this node was not subscribed (its pub/sub connection cut, or its
    // subscription moving to another primary: a promoted replica, a reshard) was lost: once
    // subscribed again, every open session whose user has items reads its queue as at its opening
    // (items already pushed to it are not pushed twice).
    // The bus runs its listeners on its I/O thread (Lettuce's, shared with the node's Redis
    // commands): going over every open session is for the work pool.
    String mine = channel(nodeId);
    bus.onResubscribed(
        channels -> {
          if (channels.contains(mine)) {
            try {
              work.execute(rereads::all);
            } catch (RejectedExecutionException e) {
              LOG.debug("node stopping: pending notifications not read again");
            }
          }
        });
    return bus.subscribe(channel(nodeId), (channel, message) -> onWake(message))
        .thenAccept(s -> subscription = s);
  }

  /** Stops taking wake-ups, and trying again what failed. */
  void close() {
    retries.close();
    PresenceBus.Subscription s = subscription;
    if (s != null) {
      s.unsubscribe();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Wake-ups

  /** {@code entries} were just stored: push them to their users' connected devices, anywhere. */
  void stored(List<NotificationQueues.Entry> entries) {
    Map<String, List<Notification>> byUser = new LinkedHashMap<>();
    for (NotificationQueues.Entry e : entries) {
      byUser.computeIfAbsent(e.userSub(), u -> new ArrayList<>()).add(e.notification());
    }
    List<CompletableFuture<?>> lookups = new ArrayList<>(byUser.size());
    Map<String, List<WakeCodec.Delivery>> byNode = new HashMap<>();
    byUser.forEach(
        (user, items) ->
            lookups.add(
                state
                    .devices(user)
                    .handleAsync(
                        (devices, e) -> {
                          if (e != null) {
                            failures.inc();
                            LOG.warn(
                                "devices of a user unknown; found again later: {}", e.toString());
                            lost(List.of(user));
                            return null;
                          }
                          boolean head = behind.containsKey(user);
                          Map<String, List<UUID>> sessions = sessionsByNode(devices);
                          synchronized (byNode) {
                            sessions.forEach(
                                (node, ids) ->
                                    byNode
                                        .computeIfAbsent(node, n -> new ArrayList<>())
                                        .add(new WakeCodec.Delivery(user, ids, items, head)));
                          }
                          return null;
                        },
                        work)
                    .toCompletableFuture()));
    CompletableFuture.allOf(lookups.toArray(CompletableFuture[]::new))
        .thenRun(
            () -> {
              synchronized (byNode) {
                byNode.forEach(this::send);
              }
            });
  }

  /** The open sessions among a user's {@code devices}, by the node holding each. */
  private static Map<String, List<UUID>> sessionsByNode(Map<String, DeviceState> devices) {
    Map<String, List<UUID>> sessions = new HashMap<>();
    for (DeviceState d : devices.values()) {
      if (d.session() != null && !d.node().isEmpty()) {
        sessions.computeIfAbsent(d.node(), n -> new ArrayList<>()).add(d.session());
      }
    }
    return sessions;
  }

  private void send(String node, List<WakeCodec.Delivery> deliveries) {
    if (node.equals(nodeId)) {
      deliveries.forEach(this::deliverLocal);
      return;
    }
    publish(node, WakeCodec.encode(deliveries));
  }

  /**
   * Stores {@code entries} in Redis with one script call that also finds their users' sessions and
   * publishes the wake-ups of the other nodes ({@link RedisNotificationQueues#enqueueAndWake},
   * instead of {@link #stored}'s lookup per user); this node's sessions get their items here, off
   * the store's thread, as do the wake-ups the store left to publish.
   */
  CompletionStage<List<NotificationQueues.Enqueued>> enqueueAndWake(
      RedisNotificationQueues redis, List<NotificationQueues.Entry> entries) {
    return redis
        .enqueueAndWake(entries, wakeFormat)
        .thenApply(
            w -> {
              // Items refused for their application's limit are in no wake-up and go to no session.
              List<NotificationQueues.Entry> stored = new ArrayList<>(entries.size());
              for (int i = 0; i < entries.size(); i++) {
                if (w.enqueued().get(i).stored()) {
                  stored.add(entries.get(i));
                }
              }
              work.execute(() -> woken(stored, w));
              return w.enqueued();
            });
  }

  private final RedisNotificationQueues.WakeFormat wakeFormat =
      new RedisNotificationQueues.WakeFormat() {
        @Override
        public String localNode() {
          return nodeId;
        }

        @Override
        public String channelPrefix() {
          return CHANNEL_PREFIX;
        }

        @Override
        public byte[] open() {
          return WakeCodec.OPEN;
        }

        @Override
        public byte[] close() {
          return WakeCodec.CLOSE;
        }

        @Override
        public byte[][] user(String user, List<Notification> items) {
          return WakeCodec.parts(user, items, behind.containsKey(user));
        }
      };

  /**
   * What {@link #enqueueAndWake}'s store call left to this node: its sessions, wake-ups to send.
   */
  private void woken(List<NotificationQueues.Entry> entries, RedisNotificationQueues.Woken w) {
    if (w.lookupFailure() != null) {
      failures.inc();
      LOG.warn("devices of users unknown; found again later: {}", w.lookupFailure().toString());
      Set<String> users = new LinkedHashSet<>();
      for (NotificationQueues.Entry e : entries) {
        users.add(e.userSub());
      }
      lost(users);
    }
    wakesSent.inc(w.published());
    if (!w.local().isEmpty()) {
      Map<String, List<Notification>> byUser = new HashMap<>();
      for (NotificationQueues.Entry e : entries) {
        if (w.local().containsKey(e.userSub())) {
          byUser.computeIfAbsent(e.userSub(), u -> new ArrayList<>()).add(e.notification());
        }
      }
      w.local()
          .forEach(
              (user, sessions) ->
                  deliverLocal(
                      new WakeCodec.Delivery(
                          user, sessions, byUser.get(user), behind.containsKey(user))));
    }
    w.unsent().forEach(this::publish);
  }

  private void publish(String node, byte[] wake) {
    wakesSent.inc();
    bus.publish(channel(node), wake)
        .whenComplete(
            (v, e) -> {
              if (e != null) {
                failures.inc();
                LOG.warn("wake-up of node {} lost; sent again later: {}", node, e.toString());
                try {
                  lost(WakeCodec.decode(wake).stream().map(WakeCodec.Delivery::user).toList());
                } catch (IOException | RuntimeException malformed) {
                  LOG.warn("a lost wake-up unreadable: {}", malformed.toString());
                }
              }
            });
  }

  private void onWake(byte[] message) {
    List<WakeCodec.Delivery> deliveries;
    try {
      deliveries = WakeCodec.decode(message);
    } catch (IOException | RuntimeException e) {
      LOG.warn("ignoring a malformed wake-up: {}", e.toString());
      return;
    }
    deliveries.forEach(this::deliverLocal);
  }

  private void deliverLocal(WakeCodec.Delivery d) {
    if (d.head() || heads.containsKey(d.user())) {
      // Older items of the user may still wait (or are being read): the queue from its head.
      readHead(d.user(), d.sessions());
      return;
    }
    for (UUID s : d.sessions()) {
      NotificationSink sink = registry.sink(s);
      if (sink != null && d.user().equals(sink.user())) {
        push(d.user(), sink, d.items());
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Lost wake-ups

  /** Users whose wake-up this node lost, remembered at most (then every session here reads). */
  static final int BEHIND_MAX = 10_000;

  /**
   * The users whose items were stored but whose wake-up this node could not send (their devices not
   * found, the publish failed), each with a count of the losses: a catch-up removes a user only
   * when no loss came since it looked. While a user is here, this node's wake-ups of that user ask
   * the receiving node to read the queue from its head ({@link WakeCodec.Delivery#head}), so a
   * newer item never overtakes the waiting older ones.
   */
  private final ConcurrentHashMap<String, Long> behind = new ConcurrentHashMap<>();

  /** More users than {@link #BEHIND_MAX} lost: every open session of this node reads its queue. */
  private final AtomicBoolean behindOverflow = new AtomicBoolean();

  private final AtomicBoolean catchUpScheduled = new AtomicBoolean();

  /**
   * The catch-up's try, from 0; it starts again from 0 only at a loss after {@link #QUIET_MILLIS}
   * without one, so a catch-up whose own wake-ups keep failing (a publish to a node that cannot be
   * reached, while lookups work) waits longer each time instead of every 250 ms.
   */
  private final AtomicInteger catchUpAttempt = new AtomicInteger();

  /** How long without a loss before the catch-up's tries start again from the first wait. */
  static final long QUIET_MILLIS = Retries.delayMillis(Retries.MAX);

  /** When the last loss came ({@link #clock}'s milliseconds). */
  private final AtomicLong lastLoss = new AtomicLong(Long.MIN_VALUE / 2);

  /** The wake-ups of {@code users} were lost: find their sessions again later. */
  private void lost(Collection<String> users) {
    long now = clock.millis();
    if (now - lastLoss.getAndSet(now) > QUIET_MILLIS) {
      catchUpAttempt.set(0);
    }
    for (String u : users) {
      if (behind.size() >= BEHIND_MAX && !behind.containsKey(u)) {
        behindOverflow.set(true);
      } else {
        behind.merge(u, 1L, Long::sum);
      }
    }
    scheduleCatchUp();
  }

  private void scheduleCatchUp() {
    if (!retries.closed() && catchUpScheduled.compareAndSet(false, true)) {
      retries.after(catchUpAttempt.get(), this::catchUp);
    }
  }

  /**
   * One try: looks up the sessions of every user in {@link #behind}, {@link
   * SessionRereads#CHECK_BATCH} at a time, and wakes their nodes to read those users' queues from
   * the head; the users not found stay for the next try, on the {@link Retries} schedule.
   */
  private void catchUp() {
    catchUpScheduled.set(false);
    int attempt = catchUpAttempt.getAndIncrement();
    if (behindOverflow.getAndSet(false)) {
      LOG.warn(
          "wake-ups of more than {} users lost; every open session here reads its queue",
          BEHIND_MAX);
      rereads.all();
    }
    catchUpFrom(new ArrayList<>(behind.keySet()), 0, attempt, new AtomicReference<>());
  }

  private void catchUpFrom(
      List<String> users, int from, int attempt, AtomicReference<Throwable> failure) {
    int to = Math.min(users.size(), from + SessionRereads.CHECK_BATCH);
    if (from >= to) {
      caughtUp(attempt, failure.get());
      return;
    }
    List<CompletableFuture<?>> lookups = new ArrayList<>(to - from);
    Map<String, List<WakeCodec.Delivery>> byNode = new HashMap<>();
    for (String user : users.subList(from, to)) {
      Long seen = behind.get(user);
      if (seen == null) {
        continue;
      }
      CompletableFuture<Map<String, DeviceState>> lookup;
      try {
        lookup = state.devices(user).toCompletableFuture();
      } catch (RuntimeException e) {
        lookup = CompletableFuture.failedFuture(e);
      }
      lookups.add(
          lookup.handle(
              (devices, e) -> {
                if (e != null) {
                  failure.compareAndSet(null, e);
                  return null;
                }
                Map<String, List<UUID>> sessions = sessionsByNode(devices);
                synchronized (byNode) {
                  sessions.forEach(
                      (node, ids) ->
                          byNode
                              .computeIfAbsent(node, n -> new ArrayList<>())
                              .add(new WakeCodec.Delivery(user, ids, List.of(), true)));
                }
                // Found: unless lost again meanwhile, the wake-ups below (or none: no session,
                // the items wait for the next) make up for it.
                behind.remove(user, seen);
                return null;
              }));
    }
    CompletableFuture.allOf(lookups.toArray(CompletableFuture[]::new))
        .whenCompleteAsync(
            (v, e) -> {
              synchronized (byNode) {
                byNode.forEach(this::send);
              }
              catchUpFrom(users, to, attempt, failure);
            },
            work);
  }

  private void caughtUp(int attempt, Throwable failure) {
    if (behind.isEmpty() && !behindOverflow.get()) {
      // Caught up; the next loss starts from the first wait only after a quiet spell (lost()).
      return;
    }
    if (Retries.last(attempt)) {
      LOG.warn(
          "sessions of {} users not found after {} tries; their items wait for their next"
              + " session: {}",
          behind.size(),
          Retries.MAX,
          String.valueOf(failure));
      behind.clear();
      behindOverflow.set(false);
      catchUpAttempt.set(0);
      return;
    }
    LOG.warn(
        "sessions of {} users not found (try {} of {}); again in {} ms: {}",
        behind.size(),
        attempt + 1,
        Retries.MAX,
        Retries.delayMillis(attempt + 1),
        String.valueOf(failure));
    scheduleCatchUp();
  }

  /** A user's read of the queue from its head, in flight on this node. */
  private static final class HeadRead {
    final Set<UUID> sessions = new HashSet<>();

    /** A wake-up came meanwhile: read once more when this read is done. */
    boolean again;
  }

  private final ConcurrentHashMap<String, HeadRead> heads = new ConcurrentHashMap<>();

  /**
   * Reads {@code user}'s queue from its head and pushes it to {@code sessions} (of this node), what
   * they already got skipped; a wake-up of the user while the read is in flight asks for one more
   * read after it instead of pushing its items, which may be newer than what the read brings.
   */
  private void readHead(String user, List<UUID> sessions) {
    boolean[] start = {false};
    heads.compute(
        user,
        (u, r) -> {
          if (r == null) {
            r = new HeadRead();
            start[0] = true;
          } else {
            r.again = true;
          }
          r.sessions.addAll(sessions);
          return r;
        });
    if (start[0]) {
      readHeadNow(user);
    }
  }

  private void readHeadNow(String user) {
    List<UUID> sessions = new ArrayList<>();
    heads.computeIfPresent(
        user,
        (u, r) -> {
          sessions.addAll(r.sessions);
          r.again = false;
          return r;
        });
    CompletableFuture<List<Notification>> read;
    try {
      read = queues.pending(user).toCompletableFuture();
    } catch (RuntimeException e) {
      read = CompletableFuture.failedFuture(e);
    }
    read.whenCompleteAsync(
            (items, e) -> {
              if (e != null) {
                failures.inc();
                // Looked up again later (the sessions may have moved meanwhile), then read.
                lost(List.of(user));
              } else if (!items.isEmpty()) {
                for (UUID s : sessions) {
                  NotificationSink sink = registry.sink(s);
                  if (sink != null && user.equals(sink.user())) {
                    push(user, sink, items);
                  }
                }
              }
              boolean[] again = {false};
              heads.computeIfPresent(
                  user,
                  (u, r) -> {
                    again[0] = r.again;
                    return r.again ? r : null;
                  });
              if (again[0]) {
                readHeadNow(user);
              }
            },
            work)
        .exceptionally(
            e -> {
              // The pool refused the continuation (the node is stopping).
              heads.remove(user);
              return null;
            });
  }

  // ---------------------------------------------------------------------------------------------
  // Sessions

  @Override
  public void opened(NotificationSink session) {
    read(session);
  }

  /** Reads {@code session}'s user's queue and pushes what waits; completes when that is done. */
  private CompletionStage<?> read(NotificationSink session) {
    String user = session.user();
    return queues
        .pending(user)
        .whenComplete(
            (items, e) -> {
              if (e != null) {
                failures.inc();
                LOG.warn("pending notifications not read; they wait: {}", e.toString());
              } else if (!items.isEmpty()) {
                push(user, session, items);
              }
            });
  }

  /**
   * Per user, this node's last push in flight: the grant check before a push may wait for the
   * database, so each push of a user waits for the one before, and items keep their order.
   */
  private final ConcurrentHashMap<String, CompletableFuture<Void>> pushing =
      new ConcurrentHashMap<>();

  /**
   * Pushes {@code items} of {@code user} to {@code sink}, those whose PUID is still active (the
   * others are dropped from the queue); what it writes is {@link #written}.
   */
  private void push(String user, NotificationSink sink, List<Notification> items) {
    CompletableFuture<Void> mine = new CompletableFuture<>();
    CompletableFuture<Void> before = pushing.put(user, mine);
    CompletableFuture<Void> start =
        before == null ? CompletableFuture.completedFuture(null) : before;
    start
        .thenCompose(v -> activeOnly(user, items))
        .whenComplete(
            (active, e) -> {
              try {
                if (e != null) {
                  failures.inc();
                  LOG.warn("grants of notifications unknown; read again later: {}", e.toString());
                  lost(List.of(user));
                } else if (!active.isEmpty()) {
                  UUID session = sink.session();
                  sink.push(active, (written, at) -> written(user, session, written, at));
                }
              } finally {
                pushing.remove(user, mine);
                mine.complete(null);
              }
            });
  }

  /** Whether {@code n}'s PUID is active for its application in {@code records}. */
  private static boolean active(Map<String, PuidRecord> records, Notification n) {
    PuidRecord r = records.get(n.puid());
    return r != null && r.stateFor(n.appId()) == PuidState.ACTIVE;
  }

  private static Set<String> puids(Collection<Notification> items) {
    Set<String> puids = new HashSet<>();
    for (Notification n : items) {
      puids.add(n.puid());
    }
    return puids;
  }

  /**
   * {@code items} whose PUID is active; the others (a paused or revoked grant's, or one the
   * application no longer holds) leave the queue here, with no receipt.
   */
  private CompletableFuture<List<Notification>> activeOnly(String user, List<Notification> items) {
    CompletableFuture<Map<String, PuidRecord>> records;
    try {
      records = grants.resolve(puids(items)).toCompletableFuture();
    } catch (RuntimeException e) {
      records = CompletableFuture.failedFuture(e);
    }
    return records.thenApply(
        r -> {
          List<Notification> active = new ArrayList<>(items.size());
          List<Notification> dead = new ArrayList<>();
          for (Notification n : items) {
            (active(r, n) ? active : dead).add(n);
          }
          if (!dead.isEmpty()) {
            remover
                .remove(user, dead)
                .whenComplete(
                    (gone, e) -> {
                      if (e != null) {
                        LOG.debug("items of an inactive grant not removed: {}", e.toString());
                      }
                    });
          }
          return active;
        });
  }

  /**
   * {@code items} reached the socket of {@code user}'s {@code session} at {@code at}: remember,
   * remove, receipt.
   */
  private void written(String user, UUID session, List<Notification> items, long at) {
    if (tracing.enabled()) {
      // notification.deliver: from the oldest item's acceptance to its write to the device's
      // socket (a root span: the store sits between accept and delivery, maybe on another node).
      long from = Long.MAX_VALUE;
      for (Notification n : items) {
        from = Math.min(from, n.createdAt().toEpochMilli());
      }
      tracing
          .tracer()
          .spanBuilder("notification.deliver")
          .setNoParent()
          .setStartTimestamp(Math.min(from, at), TimeUnit.MILLISECONDS)
          .setAttribute("presence.notifications.items", items.size())
          .startSpan()
          .end(at, TimeUnit.MILLISECONDS);
    }
    pushed.inc(items.size());
    for (Notification n : items) {
      tracker.delivered(user, n, at);
      latency.notificationDelivered(n.createdAt().toEpochMilli(), at);
    }
    remover
        .remove(user, items)
        .whenCompleteAsync(
            (gone, e) -> {
              if (e != null) {
                failures.inc();
                LOG.warn(
                    "delivered notifications not removed; they may come again: {}", e.toString());
                return;
              }
              removed.inc(gone.size());
              List<Write> asked = new ArrayList<>();
              for (Notification n : gone) {
                if (n.receipts()) {
                  asked.add(new Write(n, at));
                }
              }
              if (!asked.isEmpty()) {
                writeReceipts(user, session, asked);
              }
            },
            work);
  }

  // ---------------------------------------------------------------------------------------------
  // Receipts of writes

  /** An item written to a session's socket at {@code at}, its receipt not yet decided. */
  private record Write(Notification item, long at) {}

  /** The most writes one session holds for its device's first status; later ones get none. */
  static final int HELD_MAX = 1000;

  /** Writes whose session's device had no status yet, by session. */
  private final ConcurrentHashMap<UUID, List<Write>> held = new ConcurrentHashMap<>();

  /** {@code session}'s device among {@code devices}, or null. */
  private static DeviceState ofSession(Map<String, DeviceState> devices, UUID session) {
    for (DeviceState d : devices.values()) {
      if (session.equals(d.session())) {
        return d;
      }
    }
    return null;
  }

  /**
   * Sends the receipts of {@code writes} to {@code user}'s {@code session} whose application may
   * know of them: its grant active, the session's device showing it a presence. Held while the
   * device has no status yet.
   */
  private void writeReceipts(String user, UUID session, List<Write> writes) {
    List<Notification> items = new ArrayList<>(writes.size());
    for (Write w : writes) {
      items.add(w.item());
    }
    CompletableFuture<Map<String, DeviceState>> devices;
    CompletableFuture<Map<String, PuidRecord>> records;
    try {
      devices = state.devices(user).toCompletableFuture();
      records = grants.resolve(puids(items)).toCompletableFuture();
    } catch (RuntimeException e) {
      devices = CompletableFuture.failedFuture(e);
      records = CompletableFuture.failedFuture(e);
    }
    devices
        .thenAcceptBoth(
            records,
            (ds, rs) -> {
              DeviceState d = ofSession(ds, session);
              if (d == null) {
                return;
              }
              if (d.status() == null) {
                hold(user, session, writes);
                return;
              }
              for (Write w : writes) {
                Notification n = w.item();
                if (active(rs, n) && d.showsPresenceTo(n.appId())) {
                  boolean missed = n.expiresAt().toEpochMilli() <= w.at();
                  receipts.publish(
                      n.appId(),
                      n.id(),
                      n.puid(),
                      missed ? Receipts.State.MISSED : Receipts.State.DELIVERED,
                      w.at());
                }
              }
            })
        .whenComplete(
            (v, e) -> {
              if (e != null) {
                failures.inc();
                LOG.warn("receipts of {} written notifications withheld: {}", writes.size(), e);
              }
            });
  }

  /** Keeps {@code writes} until {@code session}'s device sets a status, or the session closes. */
  private void hold(String user, UUID session, List<Write> writes) {
    held.compute(
        session,
        (s, list) -> {
          List<Write> l = list == null ? new ArrayList<>() : list;
          for (Write w : writes) {
            if (l.size() < HELD_MAX) {
              l.add(w);
            }
          }
          return l;
        });
    if (registry.sink(session) == null) {
      // Closed meanwhile (closed() may have run before the entry was made).
      held.remove(session);
      return;
    }
    // The first status may have been stored between the lookup and now: look once more.
    state
        .devices(user)
        .thenAccept(
            ds -> {
              DeviceState d = ofSession(ds, session);
              if (d == null) {
                held.remove(session);
              } else if (d.status() != null) {
                release(user, session);
              }
            });
  }

  /** Decides the receipts {@code session} held for its device's status. */
  private void release(String user, UUID session) {
    List<Write> writes = held.remove(session);
    if (writes != null && !writes.isEmpty()) {
      writeReceipts(user, session, writes);
    }
  }

  @Override
  public void statusSet(NotificationSink session) {
    if (held.containsKey(session.session())) {
      work.execute(() -> release(session.user(), session.session()));
    }
  }

  @Override
  public void closed(UUID session) {
    held.remove(session);
  }

  @Override
  public CompletionStage<List<String>> answered(String user, List<String> ids, boolean acted) {
    long now = clock.millis();
    List<String> unknown = new ArrayList<>();
    for (ResponseTracker.Tracked t : tracker.answer(user, ids, now, unknown)) {
      if (!t.receipts) {
        continue;
      }
      // Devices of the user on other nodes may answer too: the store says whose answer was first.
      queues
          .claimAnswer(t.id, java.time.Instant.ofEpochMilli(t.expiresAt))
          .whenComplete(
              (first, e) -> {
                if (e != null) {
                  failures.inc();
                  LOG.warn(
                      "answer to notification {} not recorded; no receipt: {}", t.id, e.toString());
                } else if (first) {
                  answerReceipt(t, acted, now);
                }
              });
    }
    return CompletableFuture.completedFuture(unknown);
  }

  /** The receipt of the first answer to {@code t}, if its PUID's grant is still active. */
  private void answerReceipt(ResponseTracker.Tracked t, boolean acted, long now) {
    CompletableFuture<Map<String, PuidRecord>> records;
    try {
      records = grants.resolve(List.of(t.puid)).toCompletableFuture();
    } catch (RuntimeException e) {
      records = CompletableFuture.failedFuture(e);
    }
    records.whenComplete(
        (rs, e) -> {
          if (e != null) {
            failures.inc();
            LOG.warn("grant of notification {} unknown; no receipt: {}", t.id, e.toString());
            return;
          }
          PuidRecord r = rs.get(t.puid);
          if (r != null && r.stateFor(t.appId) == PuidState.ACTIVE) {
            receipts.publish(
                t.appId,
                t.id,
                t.puid,
                acted ? Receipts.State.ACTED : Receipts.State.DISMISSED,
                now);
          }
        });
  }
}
