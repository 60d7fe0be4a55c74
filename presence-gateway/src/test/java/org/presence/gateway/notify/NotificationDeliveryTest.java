package org.presence.gateway.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.store.testing.Futures.join;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.device.DeviceRegistry;
import org.presence.gateway.device.RecordingSession;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.testing.ForwardingBus;
import org.presence.protocol.app.AppCodec;
import org.presence.protocol.app.AppFrames.Receipt;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.bus.LocalPresenceBus;
import org.presence.store.bus.PresenceBus;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.EmbeddedPersistence;
import org.presence.store.permission.PuidRecord;
import org.presence.store.permission.PuidState;
import org.presence.store.presence.LocalPresenceStateStore;
import org.presence.store.queue.JdbiNotificationQueues;
import org.presence.store.queue.Notification;
import org.presence.store.queue.NotificationQueues;

/**
 * {@link NotificationDelivery} on two nodes of one process, sharing the embedded queues, the
 * in-process state store and bus; device sessions are {@link RecordingSession}s, so the test
 * decides when a push reaches a socket. Pins: stored items go to every session of their user,
 * directly on this node and through the bus to the other; a session that opens gets what is
 * pending; items leave the queue only once written, and each gets one receipt (delivered, or missed
 * past its ttl; none when it asked for none); an answer gets one receipt however many nodes deliver
 * it, unknown ids are returned; a wake-up naming another user's session or malformed is ignored; a
 * closed node takes no more wake-ups.
 */
class NotificationDeliveryTest {
  private static final long APP = 5;
  private static final Duration WAIT = Duration.ofSeconds(10);

  @TempDir Path dir;
  private EmbeddedPersistence db;
  private NotificationQueues queues;
  private final LocalPresenceStateStore state = new LocalPresenceStateStore();
  private final LocalPresenceBus bus = new LocalPresenceBus();
  private final ExecutorService work = Executors.newFixedThreadPool(2);
  private final List<String> receipts = new CopyOnWriteArrayList<>();
  private final DeviceRegistry registryA = new DeviceRegistry(Duration.ofSeconds(30));
  private final DeviceRegistry registryB = new DeviceRegistry(Duration.ofSeconds(30));
  private NotificationDelivery a;
  private NotificationDelivery b;

  @BeforeEach
  void start() {
    db = EmbeddedPersistence.open(StoreConfig.embedded(dir));
    queues = new JdbiNotificationQueues(db.db());
    a = node("node-a", registryA);
    b = node("node-b", registryB);
    join(a.start());
    join(b.start());
    join(
        bus.subscribe(
            Receipts.channel(APP),
            (c, m) -> {
              try {
                Receipt r = AppCodec.decodeReceipt(m);
                receipts.add(r.id() + ":" + r.state());
              } catch (Exception e) {
                receipts.add("malformed");
              }
            }));
  }

  @AfterEach
  void stop() {
    a.close();
    b.close();
    work.shutdownNow();
    bus.close();
    state.close();
    db.close();
  }

  private NotificationDelivery node(String id, DeviceRegistry registry) {
    return node(id, registry, queues, bus);
  }

  /** A node reading {@code reading} (the shared queues, or a watch on them) over {@code over}. */
  private NotificationDelivery node(
      String id, DeviceRegistry registry, NotificationQueues reading, PresenceBus over) {
    GatewayMetrics metrics = GatewayMetrics.create();
    return new NotificationDelivery(
        id,
        reading,
        state,
        over,
        registry,
        new ResponseTracker(1000),
        new Receipts(bus, metrics),
        NotificationDeliveryTest::allActive,
        new Remover(queues, 200, 4),
        Clock.systemUTC(),
        work,
        metrics);
  }

  /**
   * Every PUID active for {@link #APP} (the grant checks are {@code NotificationsContract}'s, with
   * real grants).
   */
  private static CompletionStage<Map<String, PuidRecord>> allActive(Collection<String> puids) {
    Map<String, PuidRecord> out = new java.util.HashMap<>();
    for (String p : puids) {
      out.put(p, new PuidRecord(p, APP, "u", PuidState.ACTIVE, java.time.Instant.EPOCH));
    }
    return CompletableFuture.completedFuture(out);
  }

  /**
   * A session of {@code user}'s {@code device} on {@code node}, open in {@code registry}, its
   * device online (a device shows an application nothing before its first status, and gets no
   * delivered receipts then).
   */
  private RecordingSession session(
      String user, String device, String node, DeviceRegistry registry) {
    UUID id = UUID.randomUUID();
    long now = System.currentTimeMillis();
    join(state.claim(user, device, id, node, 5, now));
    join(state.update(user, device, id, PresenceStatus.ONLINE, null, null, now));
    return RecordingSession.open(registry, user, id);
  }

  private static Notification note(boolean receipts, Duration ttl) {
    Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    return new Notification(
        UUID.randomUUID().toString(),
        APP,
        "puid",
        "A",
        "m",
        "https://x.example",
        now,
        now.plus(ttl),
        receipts);
  }

  /** {@code items} stored for {@code user}, as the notification service stores a batch. */
  private List<NotificationQueues.Entry> store(String user, Notification... items) {
    List<NotificationQueues.Entry> entries = new ArrayList<>();
    for (Notification n : items) {
      join(queues.enqueue(user, n));
      entries.add(new NotificationQueues.Entry(user, n));
    }
    return entries;
  }

  private List<String> pending(String user) {
    return join(queues.pending(user)).stream().map(Notification::id).toList();
  }

  private static List<String> ids(List<Notification> items) {
    return items.stream().map(Notification::id).toList();
  }

  @Test
  void storedItems_reachEverySessionOfTheirUser_hereDirectly_andOnTheOtherNodeThroughTheBus() {
    RecordingSession phone = session("u", "phone", "node-a", registryA);
    RecordingSession laptop = session("u", "laptop", "node-b", registryB);
    RecordingSession other = session("v", "phone", "node-b", registryB);
    Notification n1 = note(true, Duration.ofMinutes(1));
    Notification n2 = note(true, Duration.ofMinutes(1));
    a.stored(store("u", n1, n2));
    await().atMost(WAIT).until(() -> phone.pushes().size() == 1 && laptop.pushes().size() == 1);
    assertThat(ids(phone.pushes().get(0).items())).containsExactly(n1.id(), n2.id());
    assertThat(ids(laptop.pushes().get(0).items())).containsExactly(n1.id(), n2.id());
    assertThat(other.pushes()).isEmpty();
  }

  @Test
  void itemsLeaveTheQueueOnlyOnceWritten_andEachGetsOneReceipt_missedPastItsTtl() {
    RecordingSession phone = session("u", "phone", "node-a", registryA);
    RecordingSession laptop = session("u", "laptop", "node-b", registryB);
    Notification fresh = note(true, Duration.ofMinutes(10));
    Notification expiring = note(true, Duration.ofMinutes(1));
    Notification quiet = note(false, Duration.ofMinutes(10));
    a.stored(store("u", fresh, expiring, quiet));
    await().atMost(WAIT).until(() -> phone.pushes().size() == 1 && laptop.pushes().size() == 1);
    // Pushed is not written: everything still waits.
    assertThat(pending("u")).hasSize(3);
    assertThat(receipts).isEmpty();
    RecordingSession.Push p = phone.pushes().get(0);
    // Written just after the second item's ttl ran out.
    long at = expiring.expiresAt().toEpochMilli() + 5;
    p.written().written(p.items(), at);
    await().atMost(WAIT).until(() -> receipts.size() == 2);
    assertThat(pending("u")).isEmpty();
    // The other device wrote the same items too: no receipt twice.
    RecordingSession.Push q = laptop.pushes().get(0);
    q.written().written(q.items(), at + 1);
    await().during(Duration.ofMillis(300)).atMost(WAIT).until(() -> receipts.size() == 2);
    assertThat(receipts)
        .containsExactlyInAnyOrder(fresh.id() + ":delivered", expiring.id() + ":missed");
  }

  @Test
  void anItemNeverWritten_staysForTheNextSession_whichGetsItWhenItOpens() {
    RecordingSession phone = session("u", "phone", "node-a", registryA);
    Notification n = note(true, Duration.ofMinutes(1));
    a.stored(store("u", n));
    await().atMost(WAIT).until(() -> phone.pushes().size() == 1);
    phone.close(registryA);
    assertThat(pending("u")).containsExactly(n.id());
    RecordingSession next = session("u", "phone", "node-b", registryB);
    b.opened(next);
    await().atMost(WAIT).until(() -> next.pushes().size() == 1);
    assertThat(ids(next.pushes().get(0).items())).containsExactly(n.id());
    // A session with nothing waiting gets no push.
    RecordingSession idle = session("w", "phone", "node-b", registryB);
    b.opened(idle);
    await().during(Duration.ofMillis(300)).atMost(WAIT).until(() -> idle.pushes().isEmpty());
  }

  @Test
  void anAnswer_getsOneReceipt_firstAnswerWins_andUnknownIdsAreReturned() {
    RecordingSession phone = session("u", "phone", "node-a", registryA);
    RecordingSession laptop = session("u", "laptop", "node-b", registryB);
    Notification n = note(true, Duration.ofMinutes(1));
    a.stored(store("u", n));
    await().atMost(WAIT).until(() -> phone.pushes().size() == 1 && laptop.pushes().size() == 1);
    long now = System.currentTimeMillis();
    for (RecordingSession s : List.of(phone, laptop)) {
      RecordingSession.Push p = s.pushes().get(0);
      p.written().written(p.items(), now);
    }
    await().atMost(WAIT).until(() -> receipts.contains(n.id() + ":delivered"));
    assertThat(join(a.answered("u", List.of(n.id(), "no-such-id"), true)))
        .containsExactly("no-such-id");
    // The answer is claimed in the store after the call returns: once its receipt is out, the
    // laptop, on the other node, dismisses it; its answer comes second.
    await().atMost(WAIT).until(() -> receipts.contains(n.id() + ":acted"));
    assertThat(join(b.answered("u", List.of(n.id()), false))).isEmpty();
    await().atMost(WAIT).until(() -> receipts.size() == 2);
    await().during(Duration.ofMillis(300)).atMost(WAIT).until(() -> receipts.size() == 2);
    assertThat(receipts).containsExactly(n.id() + ":delivered", n.id() + ":acted");
    // Another user cannot answer it.
    assertThat(join(a.answered("v", List.of(n.id()), true))).containsExactly(n.id());
  }

  @Test
  void aWakeUpNamingAnotherUsersSession_orMalformed_isIgnored() {
    RecordingSession mallory = session("mallory", "phone", "node-b", registryB);
    // The store says the session is u's (a stale entry); the node's session is mallory's.
    join(state.claim("u", "tablet", mallory.session(), "node-b", 5, System.currentTimeMillis()));
    join(
        bus.publish(
            NotificationDelivery.channel("node-b"), "garbage".getBytes(StandardCharsets.UTF_8)));
    Notification n = note(true, Duration.ofMinutes(1));
    a.stored(store("u", n));
    RecordingSession real = session("v", "phone", "node-b", registryB);
    Notification m = note(true, Duration.ofMinutes(1));
    a.stored(store("v", m));
    await().atMost(WAIT).until(() -> real.pushes().size() == 1);
    assertThat(mallory.pushes()).isEmpty();
  }

  @Test
  void aClosedNode_takesNoMoreWakeUps() {
    RecordingSession laptop = session("u", "laptop", "node-b", registryB);
    b.close();
    a.stored(store("u", note(true, Duration.ofMinutes(1))));
    await().during(Duration.ofMillis(300)).atMost(WAIT).until(() -> laptop.pushes().isEmpty());
    assertThat(bus.mayReach(NotificationDelivery.channel("node-b"))).isFalse();
  }

  /**
   * The node's wake-up channel was subscribed again after a loss (a reconnect, a failover): every
   * open session whose user has items reads its queue and gets what a lost wake-up would have
   * brought; the node asks which users have items {@link SessionRereads#CHECK_BATCH} at a time, one
   * question at a time, and reads only theirs, with no more than {@link SessionRereads#IN_FLIGHT}
   * reads in flight for the node, not one per session at once, also when two resubscriptions come
   * together. 400 sessions of 400 users, 300 of them with an item stored and no wake-up. The bus's
   * listener only hands the work to the node's pool.
   */
  @Test
  void aResubscribedWakeUpChannel_sessionsWithItemsReadTheirQueues_aFewReadsAtATime() {
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    AtomicInteger checksInFlight = new AtomicInteger();
    AtomicInteger mostChecks = new AtomicInteger();
    List<Integer> checkSizes = new CopyOnWriteArrayList<>();
    Set<String> read = ConcurrentHashMap.newKeySet();
    Set<Thread> askedOn = ConcurrentHashMap.newKeySet();
    Set<String> empty = ConcurrentHashMap.newKeySet();
    AtomicReference<String> late = new AtomicReference<>();
    ResubscribingBus resubscribing = new ResubscribingBus(bus);
    ScheduledExecutorService later = Executors.newSingleThreadScheduledExecutor();
    NotificationQueues slow =
        new ForwardingQueues(queues) {
          @Override
          public CompletionStage<List<Notification>> pending(String userSub) {
            read.add(userSub);
            return slowly(queues.pending(userSub), inFlight, most);
          }

          @Override
          public CompletionStage<Set<String>> withItems(Collection<String> userSubs) {
            checkSizes.add(userSubs.size());
            askedOn.add(Thread.currentThread());
            CompletionStage<Set<String>> answer = queues.withItems(userSubs);
            if (late.get() == null) {
              // Once the first question has read the queues: an item stored for one of its users
              // with none, its wake-up lost, and the channel subscribed again.
              String user = userSubs.stream().filter(empty::contains).findFirst().orElseThrow();
              late.set(user);
              answer =
                  answer.thenApplyAsync(
                      got -> {
                        store(user, note(false, Duration.ofMinutes(1)));
                        resubscribing.fire(Set.of(NotificationDelivery.channel("node-c")));
                        return got;
                      },
                      later);
            }
            return slowly(answer, checksInFlight, mostChecks);
          }

          /** {@code call}'s outcome 2 ms after it came, counted in flight meanwhile. */
          private <T> CompletionStage<T> slowly(
              CompletionStage<T> call, AtomicInteger inFlight, AtomicInteger most) {
            most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            CompletableFuture<T> out = new CompletableFuture<>();
            call.whenComplete(
                (v, e) ->
                    later.schedule(
                        () -> {
                          inFlight.decrementAndGet();
                          if (e != null) {
                            out.completeExceptionally(e);
                          } else {
                            out.complete(v);
                          }
                        },
                        2,
                        TimeUnit.MILLISECONDS));
            return out;
          }
        };
    DeviceRegistry registry = new DeviceRegistry(Duration.ofSeconds(30));
    NotificationDelivery c = node("node-c", registry, slow, resubscribing);
    try {
      join(c.start());
      List<RecordingSession> withItems = new ArrayList<>();
      Map<String, RecordingSession> sessions = new java.util.HashMap<>();
      for (int i = 0; i < 400; i++) {
        String user = "r" + i;
        RecordingSession s = session(user, "phone", "node-c", registry);
        sessions.put(user, s);
        if (i % 4 == 0) {
          empty.add(user);
        } else {
          withItems.add(s);
          store(user, note(false, Duration.ofMinutes(1)));
        }
      }
      assertThat(read).isEmpty();
      assertThat(withItems).allMatch(x -> x.pushes().isEmpty());
      resubscribing.fire(Set.of("some.other.channel"));
      await().during(Duration.ofMillis(200)).until(() -> checkSizes.isEmpty() && read.isEmpty());
      // Two resubscriptions together (a connection that flapped): still 32 reads at most, for the
      // node as a whole.
      resubscribing.fire(Set.of(NotificationDelivery.channel("node-c")));
      resubscribing.fire(Set.of(NotificationDelivery.channel("node-c")));
      await().atMost(WAIT).until(() -> withItems.stream().allMatch(x -> !x.pushes().isEmpty()));
      // The item stored after the first question read its user's queue (none then) reaches the
      // session: the later resubscription asked about that user again.
      await().atMost(WAIT).until(() -> !sessions.get(late.get()).pushes().isEmpty());
      await()
          .during(Duration.ofMillis(100))
          .atMost(WAIT)
          .until(() -> inFlight.get() == 0 && checksInFlight.get() == 0);
      assertThat(most.get()).isBetween(2, SessionRereads.IN_FLIGHT);
      assertThat(mostChecks.get()).isEqualTo(1);
      assertThat(checkSizes).allMatch(n -> n <= SessionRereads.CHECK_BATCH);
      // Not on the thread that ran the bus's listener (Lettuce's I/O thread on Redis).
      assertThat(askedOn).doesNotContain(Thread.currentThread());
      // Only the users with items read their queues.
      assertThat(read).hasSize(301);
      assertThat(empty).allMatch(u -> u.equals(late.get()) || !read.contains(u));
      // Read once per resubscription at most (once when they came before its read).
      assertThat(withItems).allMatch(x -> x.pushes().size() <= 3);
    } finally {
      c.close();
      later.shutdownNow();
    }
  }

  /**
   * When the node cannot learn which users have items (Redis failing the question: its pub/sub
   * connection came back before its command one), it asks again later ({@link
   * Retries#delayMillis}), not a read per session that would fail as well; once the question is
   * answered, the sessions with items read their queues. The question fails at once, so the chain
   * goes on in its loop.
   */
  @Test
  void aFailedQuestion_isAskedAgainLater_thenTheSessionsWithItemsRead() {
    Set<String> read = ConcurrentHashMap.newKeySet();
    AtomicInteger asked = new AtomicInteger();
    NotificationQueues failing =
        new ForwardingQueues(queues) {
          @Override
          public CompletionStage<List<Notification>> pending(String userSub) {
            read.add(userSub);
            return queues.pending(userSub);
          }

          @Override
          public CompletionStage<Set<String>> withItems(Collection<String> userSubs) {
            if (asked.incrementAndGet() <= 3) {
              return CompletableFuture.failedFuture(new IllegalStateException("Redis is away"));
            }
            return queues.withItems(userSubs);
          }
        };
    ResubscribingBus resubscribing = new ResubscribingBus(bus);
    DeviceRegistry registry = new DeviceRegistry(Duration.ofSeconds(30));
    NotificationDelivery c = node("node-d", registry, failing, resubscribing);
    try {
      join(c.start());
      List<RecordingSession> withItems = new ArrayList<>();
      for (int i = 0; i < 600; i++) {
        String user = "f" + i;
        RecordingSession s = session(user, "phone", "node-d", registry);
        if (i % 2 == 0) {
          withItems.add(s);
          store(user, note(false, Duration.ofMinutes(1)));
        }
      }
      resubscribing.fire(Set.of(NotificationDelivery.channel("node-d")));
      await().atMost(WAIT).until(() -> withItems.stream().allMatch(x -> !x.pushes().isEmpty()));
      assertThat(asked.get()).isEqualTo(6);
      assertThat(read).hasSize(300);
    } finally {
      c.close();
    }
  }

  /**
   * A wake-up whose publish keeps failing while the user's sessions are still found (the other
   * node's channel unreachable, lookups working, the failure known only after the try ended): the
   * catch-up that makes up for it sends it again after 250 ms, then 500 ms, 1 s, 2 s..., not every
   * 250 ms for as long as the publish fails (each try a lookup, a publish and a log line). Each gap
   * between two publishes is at least its wait, however slow the machine (a steady 250 ms would
   * fail the second); and the tries go on (a fifth publish comes).
   */
  @Test
  void aWakeUpWhosePublishKeepsFailing_isTriedAgainLessAndLessOften() throws Exception {
    List<Long> publishes = new CopyOnWriteArrayList<>();
    PresenceBus unreachable =
        new ForwardingBus(bus) {
          @Override
          public CompletionStage<Void> publish(String channel, byte[] message) {
            if (channel.equals(NotificationDelivery.channel("node-y"))) {
              publishes.add(System.nanoTime());
              // As Redis answers: later, once the catch-up round that sent it has ended.
              CompletableFuture<Void> failed = new CompletableFuture<>();
              CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS)
                  .execute(() -> failed.completeExceptionally(new IllegalStateException("away")));
              return failed;
            }
            return super.publish(channel, message);
          }

          @Override
          public void close() {}
        };
    NotificationDelivery x =
        node("node-x", new DeviceRegistry(Duration.ofSeconds(30)), queues, unreachable);
    try {
      join(x.start());
      session("far", "phone", "node-y", new DeviceRegistry(Duration.ofSeconds(30)));
      x.stored(store("far", note(false, Duration.ofMinutes(5))));
      await().atMost(Duration.ofSeconds(60)).until(() -> publishes.size() >= 5);
      long[] waits = {250, 500, 1_000, 2_000};
      for (int i = 0; i < waits.length; i++) {
        assertThat(TimeUnit.NANOSECONDS.toMillis(publishes.get(i + 1) - publishes.get(i)))
            .as("the gap before publish %d", i + 2)
            .isGreaterThanOrEqualTo(waits[i]);
      }
    } finally {
      x.close();
    }
  }

  /** The in-process bus, whose resubscription the test fires (it never loses anything itself). */
  private static final class ResubscribingBus extends ForwardingBus {
    private final List<Consumer<Set<String>>> listeners = new CopyOnWriteArrayList<>();

    ResubscribingBus(LocalPresenceBus bus) {
      super(bus);
    }

    void fire(Set<String> channels) {
      listeners.forEach(l -> l.accept(channels));
    }

    @Override
    public void onResubscribed(Consumer<Set<String>> listener) {
      listeners.add(listener);
    }

    @Override
    public void close() {}
  }

  /** Queues that forward every call to {@code to}; a test overrides what it watches. */
  private static class ForwardingQueues implements NotificationQueues {
    private final NotificationQueues to;

    ForwardingQueues(NotificationQueues to) {
      this.to = to;
    }

    @Override
    public CompletionStage<List<Enqueued>> enqueueAll(List<Entry> entries) {
      return to.enqueueAll(entries);
    }

    @Override
    public CompletionStage<List<Notification>> pending(String userSub) {
      return to.pending(userSub);
    }

    @Override
    public CompletionStage<Set<String>> withItems(Collection<String> userSubs) {
      return to.withItems(userSubs);
    }

    @Override
    public CompletionStage<Map<String, List<Notification>>> removeAll(
        Map<String, ? extends Map<Long, ? extends Collection<String>>> idsByUser) {
      return to.removeAll(idsByUser);
    }

    @Override
    public CompletionStage<Boolean> claimAnswer(String id, Instant expiresAt) {
      return to.claimAnswer(id, expiresAt);
    }

    @Override
    public CompletionStage<Integer> purgeAnswers(Instant now) {
      return to.purgeAnswers(now);
    }

    @Override
    public CompletionStage<Integer> size(String userSub, long appId) {
      return to.size(userSub, appId);
    }

    @Override
    public CompletionStage<List<Notification>> clear(String userSub, long appId) {
      return to.clear(userSub, appId);
    }

    @Override
    public CompletionStage<Integer> expireIdle(Instant before, int limit) {
      return to.expireIdle(before, limit);
    }
  }
}
