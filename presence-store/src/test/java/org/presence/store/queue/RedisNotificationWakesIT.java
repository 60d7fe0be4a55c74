package org.presence.store.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.store.testing.Futures.join;

import io.lettuce.core.cluster.SlotHash;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.presence.store.bus.RedisPresenceBus;
import org.presence.store.config.StoreConfig;
import org.presence.store.presence.RedisPresenceStateStore;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;

/**
 * A batch of notifications stored with its wake-ups ({@link
 * RedisNotificationQueues#enqueueAndWake}, issue 13, section 1): one script call on one Redis finds
 * the recipients' sessions, appends to the queues and publishes one wake-up per other node; counted
 * with INFO commandstats, which counts the commands run inside scripts too. The node used to read
 * each recipient's presence hash with an {@code HGETALL} call of its own after the enqueue call: 12
 * calls for this batch, not 1.
 */
class RedisNotificationWakesIT {
  static final String LOCAL = "wake-local";
  static final String REMOTE = "wake-remote";
  static final long APP = 31;

  private RedisBackend redis;
  private RedisPresenceStateStore state;
  private RedisNotificationQueues queues;
  private RedisPresenceBus bus;
  private final List<byte[]> heardByRemote = new CopyOnWriteArrayList<>();

  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    Backends.redisUrl();
    return Backends.redis(keyPrefix);
  }

  boolean cluster() {
    return false;
  }

  @BeforeEach
  void open() {
    redis = RedisBackend.connect(redisConfig(Backends.uniquePrefix(getClass())));
    state = new RedisPresenceStateStore(redis);
    queues = new RedisNotificationQueues(redis);
    bus = new RedisPresenceBus(redis);
    join(
        bus.subscribe(
            "notifications.node." + REMOTE, (channel, message) -> heardByRemote.add(message)));
  }

  @AfterEach
  void close() {
    // Null when open() was skipped (no test Redis configured) or failed part-way.
    if (bus != null) {
      bus.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  /** The test's wake-up format: {"d":[{"u":user,"s":[sessions],"n":item count}, ...]}. */
  static final RedisNotificationQueues.WakeFormat FORMAT =
      new RedisNotificationQueues.WakeFormat() {
        @Override
        public String localNode() {
          return LOCAL;
        }

        @Override
        public String channelPrefix() {
          return "notifications.node.";
        }

        @Override
        public byte[] open() {
          return utf8("{\"d\":[");
        }

        @Override
        public byte[] close() {
          return utf8("]}");
        }

        @Override
        public byte[][] user(String user, List<Notification> items) {
          return new byte[][] {
            utf8("{\"u\":\"" + user + "\",\"s\":["), utf8("],\"n\":" + items.size() + "}")
          };
        }
      };

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static Notification note(String message) {
    return note(APP, message);
  }

  private static Notification note(long app, String message) {
    Instant now = Instant.now();
    return new Notification(
        UUID.randomUUID().toString().replace("-", ""),
        app,
        "puid-" + message,
        "Source",
        message,
        "",
        now,
        now.plusSeconds(60),
        false);
  }

  /** Calls of every command Redis counted so far, summed over every shard (INFO commandstats). */
  private Map<String, Long> calls() {
    Map<String, Long> out = new HashMap<>();
    for (int i = 0; i < redis.shards(); i++) {
      String info = join(join(redis.shard(i)).info("commandstats"));
      for (String line : info.split("\r?\n")) {
        if (line.startsWith("cmdstat_")) {
          String command = line.substring("cmdstat_".length(), line.indexOf(':'));
          long n = Long.parseLong(line.substring(line.indexOf("calls=") + 6, line.indexOf(',')));
          out.merge(command, n, Long::sum);
        }
      }
    }
    return out;
  }

  /**
   * Commands no call of the test sends: this test's own INFO, and what a cluster runs by itself (a
   * replica's REPLCONF ACK every second, the client's topology and health checks).
   */
  private static final Set<String> BACKGROUND =
      Set.of("info", "replconf", "ping", "cluster", "client", "hello", "command", "readonly");

  private static Map<String, Long> delta(Map<String, Long> before, Map<String, Long> after) {
    Map<String, Long> d = new HashMap<>();
    after.forEach(
        (c, n) -> {
          long was = before.getOrDefault(c, 0L);
          if (n > was && !BACKGROUND.contains(c)) {
            d.put(c, n - was);
          }
        });
    return d;
  }

  @Test
  void batchOfTen_isOneScriptCall_perPrimary_thatFindsTheSessions_andWakesTheOtherNode() {
    String run = "w" + System.nanoTime() + "-";
    // u0..u3 have a device on this node, u4..u8 on the other one, u9 none.
    Map<String, UUID> sessions = new HashMap<>();
    for (int i = 0; i < 9; i++) {
      UUID s = UUID.randomUUID();
      sessions.put(run + i, s);
      join(
          state.claim(run + i, "phone", s, i < 4 ? LOCAL : REMOTE, 10, System.currentTimeMillis()));
    }
    // Loads the script on every shard, so that no NOSCRIPT answer is counted below.
    for (int i = 0; i < 64; i++) {
      join(
          queues.enqueueAndWake(
              List.of(new NotificationQueues.Entry(run + "warm-" + i, note("warm"))), FORMAT));
    }
    List<NotificationQueues.Entry> batch = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      batch.add(new NotificationQueues.Entry(run + i, note("m" + i)));
    }

    Map<String, Long> before = calls();
    RedisNotificationQueues.Woken w = join(queues.enqueueAndWake(batch, FORMAT));
    Map<String, Long> d = delta(before, calls());

    assertThat(w.enqueued()).hasSize(10).allSatisfy(e -> assertThat(e.queueSize()).isEqualTo(1));
    assertThat(w.lookupFailure()).isNull();
    Map<String, List<UUID>> local = new HashMap<>();
    for (int i = 0; i < 4; i++) {
      local.put(run + i, List.of(sessions.get(run + i)));
    }
    assertThat(w.local()).isEqualTo(local);

    // The other node's wake-up: users u4..u8 with their sessions, one item each.
    byte[] message;
    if (cluster()) {
      assertThat(w.published()).isZero();
      assertThat(w.unsent()).containsOnlyKeys(REMOTE);
      message = w.unsent().get(REMOTE);
    } else {
      assertThat(w.published()).isEqualTo(1);
      assertThat(w.unsent()).isEmpty();
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (heardByRemote.isEmpty() && System.nanoTime() < until) {
        Thread.onSpinWait();
      }
      assertThat(heardByRemote).hasSize(1);
      message = heardByRemote.get(0);
    }
    String text = new String(message, StandardCharsets.UTF_8);
    assertThat(text).startsWith("{\"d\":[{").endsWith("}]}");
    Map<String, String> woken = new HashMap<>();
    for (String part : text.substring(6, text.length() - 2).split(",(?=\\{)")) {
      java.util.regex.Matcher m =
          java.util.regex.Pattern.compile("\\{\"u\":\"([^\"]+)\",\"s\":\\[\"([^\"]+)\"],\"n\":1}")
              .matcher(part);
      assertThat(m.matches()).as(part).isTrue();
      woken.put(m.group(1), m.group(2));
    }
    Map<String, String> remote = new HashMap<>();
    for (int i = 4; i < 9; i++) {
      remote.put(run + i, sessions.get(run + i).toString());
    }
    assertThat(woken).isEqualTo(remote);

    // What Redis ran: per item an RPUSH and an SADD, per recipient an HGETALL inside the script;
    // per queue and per user's set a PEXPIRE (the queue retention, set again at every push).
    long scripts = d.getOrDefault("evalsha", 0L) + d.getOrDefault("eval", 0L);
    // And the application's count (on one Redis in the same call, on a Redis Cluster one ADMIT
    // call on its primary: TIME, an HGETALL of the count, an HINCRBY of the bucket and its
    // PEXPIRE).
    assertThat(d).containsEntry("rpush", 10L).containsEntry("sadd", 10L);
    assertThat(d).containsEntry("pexpire", 21L);
    // No LINDEX: the head trim (items older than the retention) reads only a queue that held
    // items before the push, and these queues start with it.
    assertThat(d).doesNotContainKey("lindex");
    assertThat(d).containsEntry("time", 1L).containsEntry("hincrby", 1L);
    for (NotificationQueues.Entry e : batch) {
      String userKey = UserKeys.of(e.userSub());
      long ttl = StoreConfig.DEFAULT_QUEUE_RETENTION.toMillis();
      assertThat(join(redis.commands().async().pttl(redis.keys().user("nq", userKey) + ":" + APP)))
          .isBetween(ttl - 60_000, ttl);
      assertThat(join(redis.commands().async().pttl(redis.keys().user("nqa", userKey))))
          .isBetween(ttl - 60_000, ttl);
    }
    assertThat(d).containsEntry("hgetall", 11L);
    if (cluster()) {
      // One call per primary holding queue slots of the batch, then one per primary holding
      // presence slots (20 calls, one per slot, before); the wake-up is the caller's to send. A
      // call over keys of several slots, which declares none, first asks its primary for each key
      // (EXISTS; one for a queue and its user's set, which share a slot), before it writes
      // anything.
      Map<String, Set<Integer>> queueSlots = new HashMap<>();
      Map<String, Set<Integer>> presenceSlots = new HashMap<>();
      Map<String, Integer> queueUsers = new HashMap<>();
      Map<String, Integer> presenceUsers = new HashMap<>();
      for (NotificationQueues.Entry e : batch) {
        int q = SlotHash.getSlot("{u:" + UserKeys.of(e.userSub()) + "}");
        int p = SlotHash.getSlot("{u:" + e.userSub() + "}");
        queueSlots.computeIfAbsent(redis.primaryOf(q), x -> new HashSet<>()).add(q);
        presenceSlots.computeIfAbsent(redis.primaryOf(p), x -> new HashSet<>()).add(p);
        queueUsers.merge(redis.primaryOf(q), 1, Integer::sum);
        presenceUsers.merge(redis.primaryOf(p), 1, Integer::sum);
      }
      long checks = 0;
      for (String primary : queueSlots.keySet()) {
        // Per user's queue one EXISTS of its two keys, the queue and the user's set of queues,
        // which share the user's hash tag (two, one per key, before).
        checks += queueSlots.get(primary).size() > 1 ? queueUsers.get(primary) : 0;
      }
      for (String primary : presenceSlots.keySet()) {
        checks += presenceSlots.get(primary).size() > 1 ? presenceUsers.get(primary) : 0;
      }
      assertThat(queueSlots.size() + presenceSlots.size()).isLessThan(20);
      assertThat(scripts).isEqualTo(1 + queueSlots.size() + presenceSlots.size());
      assertThat(d.getOrDefault("exists", 0L)).isEqualTo(checks);
      assertThat(d)
          .containsOnlyKeys(
              "evalsha", "rpush", "sadd", "hgetall", "exists", "pexpire", "time", "hincrby");
    } else {
      // One call for the whole batch, its application's count included (a call of its own for
      // the count made it two round trips and 67 commands); the old path made 12 (the enqueue
      // script, 10 HGETALL, 1 PUBLISH), the same 32 commands in all (before the 20 PEXPIRE and
      // the count's 4).
      assertThat(scripts).isEqualTo(1);
      assertThat(d).containsEntry("publish", 1L);
      assertThat(d)
          .containsOnlyKeys(
              "evalsha", "rpush", "sadd", "hgetall", "publish", "pexpire", "time", "hincrby");
      assertThat(d.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(56);
    }
  }

  /**
   * A batch over its application's limit: the items with room are stored and woken for, the rest
   * refused ({@code APP_FULL}) and in no wake-up. On one Redis the call that takes the room stores
   * nothing when some item has none, and a second call stores the others: two calls, where a batch
   * that fits is one; a batch with no room at all is one call that stores nothing.
   */
  @Test
  void batchOverTheLimit_storesAndWakesForTheItemsWithRoom_only() {
    RedisNotificationQueues limited =
        new RedisNotificationQueues(redis, StoreConfig.DEFAULT_QUEUE_RETENTION, 3);
    String run = "limit" + System.nanoTime() + "-";
    // u0 (stored) and u4 (refused) have a device on the other node.
    for (int i : new int[] {0, 4}) {
      join(
          state.claim(run + i, "phone", UUID.randomUUID(), REMOTE, 10, System.currentTimeMillis()));
    }
    // Loads the scripts on every shard, so that no NOSCRIPT answer is counted below (another
    // application: the limited one starts empty).
    for (int i = 0; i < 64; i++) {
      join(
          queues.enqueueAndWake(
              List.of(new NotificationQueues.Entry(run + "warm-" + i, note("warm"))), FORMAT));
    }
    heardByRemote.clear();
    List<NotificationQueues.Entry> batch = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      batch.add(new NotificationQueues.Entry(run + i, note(APP + 7, "m" + i)));
    }
    Map<String, Long> before = calls();
    RedisNotificationQueues.Woken w = join(limited.enqueueAndWake(batch, FORMAT));
    Map<String, Long> d = delta(before, calls());

    assertThat(w.enqueued()).hasSize(5);
    assertThat(w.enqueued().subList(0, 3)).allSatisfy(e -> assertThat(e.queueSize()).isOne());
    assertThat(w.enqueued().subList(3, 5)).containsOnly(NotificationQueues.Enqueued.APP_FULL);
    assertThat(join(limited.pending(run + 2)))
        .extracting(Notification::message)
        .containsExactly("m2");
    assertThat(join(limited.pending(run + 3))).isEmpty();
    assertThat(join(limited.pending(run + 4))).isEmpty();
    byte[] message;
    if (cluster()) {
      assertThat(w.unsent()).containsOnlyKeys(REMOTE);
      message = w.unsent().get(REMOTE);
    } else {
      assertThat(w.published()).isEqualTo(1);
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(10))
          .until(() -> !heardByRemote.isEmpty());
      message = heardByRemote.get(0);
      // The call that found no room for m3 and m4 took that of m0..m2, then one call stored them.
      assertThat(d.getOrDefault("evalsha", 0L)).isEqualTo(2);
      assertThat(d).containsEntry("hincrby", 1L).containsEntry("rpush", 3L);
    }
    String text = new String(message, StandardCharsets.UTF_8);
    assertThat(text).contains("\"u\":\"" + run + "0\"").doesNotContain(run + "4");

    // No room at all: nothing stored, nothing taken (on one Redis one call).
    before = calls();
    RedisNotificationQueues.Woken none =
        join(
            limited.enqueueAndWake(
                List.of(new NotificationQueues.Entry(run + 1, note(APP + 7, "m5"))), FORMAT));
    d = delta(before, calls());
    assertThat(none.enqueued()).containsExactly(NotificationQueues.Enqueued.APP_FULL);
    assertThat(join(limited.pending(run + 1)))
        .extracting(Notification::message)
        .containsExactly("m1");
    if (!cluster()) {
      assertThat(d.getOrDefault("evalsha", 0L)).isEqualTo(1);
      assertThat(d).doesNotContainKeys("rpush", "hincrby");
    }
  }

  /**
   * Items for one queue go in with one {@code RPUSH}, a user's new queues with one {@code SADD},
   * and delivered items at a queue's head leave with one {@code LTRIM}. The scripts before made an
   * {@code RPUSH} and an {@code SADD} per item, and an {@code LREM} per removed item and an {@code
   * LLEN} per queue: 8 and 6 commands here where these make 3 and 3 (this test fails on them).
   */
  @Test
  void aQueuesItems_goInWithOnePush_andLeaveTheHeadWithOneTrim() {
    String u = "trim-" + System.nanoTime();
    List<Notification> items = List.of(note("a"), note("b"), note("c"));
    Notification other =
        new Notification(
            UUID.randomUUID().toString().replace("-", ""),
            APP + 1,
            "puid-other",
            "Other",
            "other",
            "",
            Instant.now(),
            Instant.now().plusSeconds(60),
            false);
    List<NotificationQueues.Entry> batch = new ArrayList<>();
    for (Notification n : items) {
      batch.add(new NotificationQueues.Entry(u, n));
    }
    batch.add(1, new NotificationQueues.Entry(u, other));
    // Loads the scripts on the user's shard and the applications' (their counts), so that no
    // NOSCRIPT answer is counted below.
    Notification w = note("warm");
    Notification w2 =
        new Notification(
            UUID.randomUUID().toString().replace("-", ""),
            APP + 1,
            "puid-other",
            "Other",
            "warm",
            "",
            Instant.now(),
            Instant.now().plusSeconds(60),
            false);
    join(
        queues.enqueueAll(
            List.of(new NotificationQueues.Entry(u, w), new NotificationQueues.Entry(u, w2))));
    join(queues.remove(u, Map.of(APP, List.of(w.id()), APP + 1, List.of(w2.id()))));

    Map<String, Long> before = calls();
    assertThat(join(queues.enqueueAll(batch)))
        .extracting(NotificationQueues.Enqueued::queueSize)
        .containsExactly(1, 1, 2, 3);
    Map<String, Long> stored = delta(before, calls());
    // The two applications' counts: one ADMIT call per primary holding them (a call over two
    // slots of one primary asks it for each key first), per application an HGETALL, an HINCRBY
    // and a PEXPIRE.
    long admits = 1;
    long checks = 0;
    if (cluster()) {
      String p1 = redis.primaryOf(SlotHash.getSlot(redis.keys().app("nqc", APP)));
      String p2 = redis.primaryOf(SlotHash.getSlot(redis.keys().app("nqc", APP + 1)));
      admits = p1.equals(p2) ? 1 : 2;
      checks = p1.equals(p2) ? 2 : 0;
    }
    assertThat(stored.getOrDefault("exists", 0L)).isEqualTo(checks);
    stored.remove("exists");
    assertThat(stored)
        .containsOnlyKeys("evalsha", "rpush", "sadd", "pexpire", "time", "hgetall", "hincrby")
        .containsEntry("evalsha", 1L + admits)
        .containsEntry("rpush", 2L)
        .containsEntry("sadd", 1L)
        .containsEntry("time", admits)
        .containsEntry("hgetall", 2L)
        .containsEntry("hincrby", 2L)
        .containsEntry("pexpire", 5L); // two queues and their user's set, once; two counts

    before = calls();
    List<String> ids = items.stream().map(Notification::id).toList();
    assertThat(join(queues.remove(u, Map.of(APP, ids))))
        .extracting(Notification::id)
        .containsExactlyElementsOf(ids);
    Map<String, Long> removed = delta(before, calls());
    // Then the removed items' room is given back: one RELEASE call (their application's count,
    // whose bucket they empty: HEXISTS, HINCRBY, HDEL).
    assertThat(removed)
        .containsOnlyKeys("evalsha", "lrange", "ltrim", "srem", "hexists", "hincrby", "hdel")
        .containsEntry("evalsha", 2L)
        .containsEntry("hexists", 1L)
        .containsEntry("hincrby", 1L)
        .containsEntry("hdel", 1L)
        .containsEntry("lrange", 1L)
        .containsEntry("ltrim", 1L)
        .containsEntry("srem", 1L);
    assertThat(join(queues.pending(u))).extracting(Notification::id).containsExactly(other.id());
  }

  @Test
  void fullQueue_dropsTheOldest_asEnqueueAllDoes() {
    String u = "full-" + System.nanoTime();
    List<NotificationQueues.Entry> first = new ArrayList<>();
    for (int i = 0; i < NotificationQueues.CAPACITY; i++) {
      first.add(new NotificationQueues.Entry(u, note("n" + i)));
    }
    List<NotificationQueues.Enqueued> stored =
        join(queues.enqueueAndWake(first, FORMAT)).enqueued();
    assertThat(stored.get(NotificationQueues.CAPACITY - 1).queueSize())
        .isEqualTo(NotificationQueues.CAPACITY);
    NotificationQueues.Enqueued over =
        join(queues.enqueueAndWake(List.of(new NotificationQueues.Entry(u, note("over"))), FORMAT))
            .enqueued()
            .get(0);
    assertThat(over.queueSize()).isEqualTo(NotificationQueues.CAPACITY);
    assertThat(over.dropped())
        .extracting(Notification::id)
        .containsExactly(first.get(0).notification().id());
    assertThat(join(queues.pending(u)))
        .extracting(Notification::message)
        .hasSize(NotificationQueues.CAPACITY)
        .startsWith("n1")
        .endsWith("over");
  }

  @Test
  void userWithoutSessions_isStored_andWakesNobody() {
    String u = "alone-" + System.nanoTime();
    RedisNotificationQueues.Woken w =
        join(queues.enqueueAndWake(List.of(new NotificationQueues.Entry(u, note("x"))), FORMAT));
    assertThat(w.local()).isEmpty();
    assertThat(w.unsent()).isEmpty();
    assertThat(w.published()).isZero();
    assertThat(join(queues.pending(u))).extracting(Notification::message).containsExactly("x");
  }
}
