package org.presence.store.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.cluster.RedisNodeRegistry;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;

class RedisPresenceStateStoreIT extends PresenceStateStoreContract {
  /**
   * The Redis settings: one Redis here, a Redis Cluster in {@link
   * RedisPresenceStateStoreClusterIT}.
   */
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redis(keyPrefix);
  }

  private static String prefix;
  private final List<RedisBackend> backends = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void pickPrefix() {
    Backends.redisUrl();
    prefix = Backends.uniquePrefix(RedisPresenceStateStoreIT.class);
  }

  private PresenceStateStore connect() {
    RedisBackend backend = RedisBackend.connect(redisConfig(prefix));
    backends.add(backend);
    return new RedisPresenceStateStore(backend);
  }

  @Override
  protected PresenceStateStore open() {
    return connect();
  }

  @Override
  protected PresenceStateStore openPeer() {
    return connect();
  }

  @AfterEach
  void closeBackends() {
    backends.forEach(RedisBackend::close);
  }

  @Test
  void kind_isRedis() {
    assertThat(store.kind()).isEqualTo("redis");
  }

  @Test
  void script_whenFlushedFromRedis_thenSentAgain() {
    java.util.UUID s = java.util.UUID.randomUUID();
    join(store.claim("flush-user", "d", s, "n", 10, 1));
    backends.get(0).commands().sync().scriptFlush();
    assertThat(
            join(store.update("flush-user", "d", s, PresenceStatus.ONLINE, null, null, 2))
                .changes())
        .hasSize(1);
  }

  /**
   * A user whose last device goes keeps a hash of the version alone (a floor: one {@code HSET}
   * after the {@code DEL}), which the sweep's operation ({@code orphans}) drops once it is no
   * longer needed ({@link PresenceAggregator#floorNeeded}); a change in the meantime continues from
   * it.
   */
  @Test
  void floor_isTheVersionAlone_droppedByTheSweepOnceNoLongerNeeded() {
    String user = "floor-" + System.nanoTime();
    String key = ((RedisPresenceStateStore) store).key(user);
    java.util.UUID s = java.util.UUID.randomUUID();
    long t = 1_700_000_000_000L;
    join(store.claim(user, "phone", s, "a", 10, t));
    join(store.update(user, "phone", s, PresenceStatus.ONLINE, null, null, t));
    long offline = join(store.release(user, "phone", s, t + 1)).changes().get(0).version();
    assertThat(hash(key)).containsOnlyKeys("v").containsEntry("v", Long.toString(offline));

    long keep = PresenceAggregator.FLOOR_KEEP_MILLIS;
    assertThat(join(peer.releaseOrphans(user, List.of(), t + 1 + keep - 1)).changes()).isEmpty();
    assertThat(hash(key)).as("still needed").containsOnlyKeys("v");
    assertThat(join(peer.releaseOrphans(user, List.of(), t + 1 + keep)).changes()).isEmpty();
    assertThat(hash(key)).as("dropped").isEmpty();

    long later = t + 1 + keep + 5;
    join(store.claim(user, "phone", s, "a", 10, later));
    assertThat(
            join(store.update(user, "phone", s, PresenceStatus.ONLINE, null, null, later))
                .changes()
                .get(0)
                .version())
        .isEqualTo(later * 1000);
  }

  private Map<String, String> hash(String key) {
    Map<String, String> out = new java.util.TreeMap<>();
    backends
        .get(0)
        .commands()
        .sync()
        .hgetall(key)
        .forEach((f, v) -> out.put(f, new String(v, java.nio.charset.StandardCharsets.UTF_8)));
    return out;
  }

  /**
   * The script is a transcription of {@link PresenceAggregator}: random operations on both stores
   * give the same answers, step by step.
   */
  @Test
  void randomOperations_answerAsTheInProcessStore() {
    long seed = System.nanoTime();
    Random r = new Random(seed);
    LocalPresenceStateStore reference = new LocalPresenceStateStore();
    String[] devices = {"a", "b", "c"};
    java.util.UUID[] sessions = {
      java.util.UUID.randomUUID(), java.util.UUID.randomUUID(),
      java.util.UUID.randomUUID(), java.util.UUID.randomUUID()
    };
    String[] messages = {null, "m1", "m2", ""};
    UserMessages[] mine = {
      null,
      UserMessages.NONE,
      new UserMessages("o1", "a1"),
      new UserMessages("o2", ""),
      new UserMessages("", "m1")
    };
    ApplicationIds[] lists = {
      null,
      null,
      ApplicationIds.NONE,
      ApplicationIds.of(1),
      ApplicationIds.of(3),
      ApplicationIds.of(1, 2),
      ApplicationIds.of(2, 3)
    };
    PresenceStatus[] statuses = PresenceStatus.values();
    for (int round = 0; round < 20; round++) {
      String user = "rand-" + seed + "-" + round;
      long now = 1_700_000_000_000L;
      for (int i = 0; i < 60; i++) {
        now += r.nextInt(3) * 1000L;
        String device = devices[r.nextInt(devices.length)];
        java.util.UUID session = sessions[r.nextInt(sessions.length)];
        int op = r.nextInt(10);
        Object expected;
        Object actual;
        if (op < 2) {
          expected = join(reference.claim(user, device, session, "n-" + session, 2, now));
          actual = join(store.claim(user, device, session, "n-" + session, 2, now));
        } else if (op < 8) {
          java.util.UUID s = r.nextInt(5) == 0 ? null : session;
          PresenceStatus st = statuses[r.nextInt(statuses.length)];
          String m = messages[r.nextInt(messages.length)];
          ApplicationIds apps = lists[r.nextInt(lists.length)];
          UserMessages um = mine[r.nextInt(mine.length)];
          expected = join(reference.update(user, device, s, st, m, apps, um, now));
          actual = join(store.update(user, device, s, st, m, apps, um, now));
        } else if (op == 8) {
          UserMessages um = mine[1 + r.nextInt(mine.length - 1)];
          expected = join(reference.messages(user, um, now));
          actual = join(store.messages(user, um, now));
        } else {
          expected = join(reference.release(user, device, session, now));
          actual = join(store.release(user, device, session, now));
        }
        assertThat(actual).as("seed %d round %d step %d", seed, round, i).isEqualTo(expected);
      }
      assertThat(join(store.devices(user)))
          .as("seed %d", seed)
          .isEqualTo(join(reference.devices(user)));
      assertThat(join(store.presence(user)))
          .as("seed %d", seed)
          .isEqualTo(join(reference.presence(user)));
    }
  }

  /**
   * Two nodes change two devices of one user at once. Ordered by version, the published changes
   * form a chain where each differs from the one before: no node ever publishes a repeat.
   */
  @Test
  void concurrentUpdatesFromTwoNodes_neverPublishADuplicate() {
    String user = "race-" + System.nanoTime();
    java.util.UUID sa = java.util.UUID.randomUUID();
    java.util.UUID sb = java.util.UUID.randomUUID();
    join(store.claim(user, "a", sa, "node-a", 10, 1));
    join(peer.claim(user, "b", sb, "node-b", 10, 1));
    Random r = new Random(42);
    PresenceStatus[] statuses = {
      PresenceStatus.ONLINE, PresenceStatus.AWAY, PresenceStatus.OFFLINE
    };
    List<CompletionStage<PresenceUpdate>> pending = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      PresenceStatus st = statuses[r.nextInt(statuses.length)];
      String m = r.nextBoolean() ? null : "m" + r.nextInt(2);
      long now = 1_700_000_000_000L + i;
      pending.add(
          i % 2 == 0
              ? store.update(user, "a", sa, st, m, null, now)
              : peer.update(user, "b", sb, st, m, null, now));
    }
    List<PresenceChange> all = new ArrayList<>();
    for (CompletionStage<PresenceUpdate> p : pending) {
      all.addAll(join(p).changes());
    }
    CompletableFuture.allOf().join();
    all.sort(Comparator.comparingLong(PresenceChange::version));
    assertThat(all).isNotEmpty();
    PresenceView last = PresenceView.OFFLINE;
    for (PresenceChange c : all) {
      PresenceView v = new PresenceView(c.status(), c.message(), c.version());
      assertThat(v.sameAs(last)).as("repeat at version %d", c.version()).isFalse();
      last = v;
    }
    assertThat(join(store.presence(user)).allApps().sameAs(last)).isTrue();
    assertThat(all).extracting(PresenceChange::version).doesNotHaveDuplicates();
  }

  /**
   * Issue 13 section 4, healing on read: a device of a node whose lease ran out, read by other
   * nodes (both read paths, several reads at once on two nodes) is released by exactly one of them,
   * whose changes go to be published once; the reads answer what is left. A node that joined after
   * a reader's cache was loaded is not taken for dead.
   */
  @Test
  void readOfADeviceOfANodeWhoseLeaseIsGone_releasesItOnce() throws Exception {
    String user = "heal-" + System.nanoTime();
    String dead = "dead-" + System.nanoTime();
    String fresh = "fresh-" + System.nanoTime();
    RedisBackend deadBackend = RedisBackend.connect(redisConfig(prefix));
    backends.add(deadBackend);
    RedisNodeRegistry deadNode = new RedisNodeRegistry(deadBackend);
    PresenceStateStore deadStore = new RedisPresenceStateStore(deadBackend);
    join(deadNode.heartbeat(dead, Duration.ofSeconds(3)));
    java.util.UUID s = java.util.UUID.randomUUID();
    join(deadStore.claim(user, "phone", s, dead, 10, 1));
    assertThat(
            join(deadStore.update(user, "phone", s, PresenceStatus.ONLINE, "hi", null, 2))
                .changes())
        .hasSize(1);

    List<PresenceStateStore> readers = new ArrayList<>();
    List<String> published = new CopyOnWriteArrayList<>();
    List<PresenceUpdate> updates = new CopyOnWriteArrayList<>();
    for (String reader :
        List.of("reader-a-" + System.nanoTime(), "reader-b-" + System.nanoTime())) {
      RedisBackend b = RedisBackend.connect(redisConfig(prefix));
      backends.add(b);
      RedisNodeRegistry registry = new RedisNodeRegistry(b);
      join(registry.heartbeat(reader, Duration.ofSeconds(30)));
      PresenceStateStore st = new RedisPresenceStateStore(b);
      st.healOnRead(
          new ReadHealing(
              registry::alive,
              reader,
              Duration.ofSeconds(30),
              (u, update) -> {
                published.add(u);
                updates.add(update);
              },
              System::currentTimeMillis,
              System::nanoTime,
              () -> true));
      readers.add(st);
    }
    // While the lease runs, reads leave the device alone (and load the readers' caches).
    for (PresenceStateStore r : readers) {
      assertThat(join(r.devices(user))).containsKey("phone");
    }
    // A node that joins after the caches were loaded owns a device: a suspect, not dead.
    join(deadNode.heartbeat(fresh, Duration.ofSeconds(30)));
    java.util.UUID f = java.util.UUID.randomUUID();
    join(deadStore.claim(user, "laptop", f, fresh, 10, 3));
    join(deadStore.update(user, "laptop", f, PresenceStatus.AWAY, null, null, 4));
    assertThat(join(readers.get(0).devices(user))).containsKeys("phone", "laptop");
    assertThat(published).isEmpty();

    await().atMost(Duration.ofSeconds(10)).until(() -> !join(deadNode.alive()).contains(dead));
    List<CompletableFuture<?>> reads = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      PresenceStateStore r = readers.get(i % 2);
      CompletionStage<?> read =
          switch (i % 3) {
            case 0 -> r.presence(user);
            case 1 -> r.presence(List.of("nobody-" + i, user));
            default -> r.devices(user);
          };
      reads.add(read.toCompletableFuture());
    }
    CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
    assertThat(published).containsExactly(user);
    assertThat(updates.get(0).changes())
        .extracting(PresenceChange::status)
        .containsExactly(PresenceStatus.AWAY);
    for (PresenceStateStore r : readers) {
      assertThat(join(r.devices(user))).containsOnlyKeys("laptop");
      assertThat(join(r.presence(user)).allApps().status()).isEqualTo(PresenceStatus.AWAY);
      assertThat(join(r.presence(List.of(user))).get(0).allApps().status())
          .isEqualTo(PresenceStatus.AWAY);
    }
    assertThat(published).hasSize(1);
  }
}
