package org.presence.store.updates;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.RedisKeys;
import org.presence.store.testing.Backends;

class RedisAppUpdateLogIT extends AppUpdateLogContract {
  /** The Redis settings: one Redis here, a Redis Cluster in {@link RedisAppUpdateLogClusterIT}. */
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redis(keyPrefix);
  }

  private static String prefix;
  private final List<RedisBackend> backends = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void pickPrefix() {
    Backends.redisUrl();
    prefix = Backends.uniquePrefix(RedisAppUpdateLogIT.class);
  }

  private RedisBackend connect() {
    RedisBackend b = RedisBackend.connect(redisConfig(prefix));
    backends.add(b);
    return b;
  }

  @Override
  protected AppUpdateLog open(Duration retention) {
    return new RedisAppUpdateLog(connect(), retention);
  }

  @Override
  protected AppUpdateLog bounded(int max) {
    return new RedisAppUpdateLog(connect(), AppUpdateLog.RETENTION, max);
  }

  @Override
  protected AppUpdateLog peer(AppUpdateLog log) {
    return new RedisAppUpdateLog(connect());
  }

  @Override
  protected void closeAll() {
    backends.forEach(RedisBackend::close);
    backends.clear();
  }

  @Test
  void numbering_survivesAReconnect() {
    AppUpdateLog a = open(AppUpdateLog.RETENTION);
    long seq =
        join(a.append(77, List.of(new AppUpdate.New("p", PresenceStatus.ONLINE, "")))).get(0).seq();
    closeAll();
    AppUpdateLog b = open(AppUpdateLog.RETENTION);
    assertThat(join(b.lastSeq(77))).isEqualTo(seq);
    AppUpdateLog.Read r = join(b.readSince(77, seq - 1, 10));
    assertThat(r.updates()).extracting(AppUpdate::seq).containsExactly(seq);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Redis's clock, in seconds (the log's generations and periods follow it). */
  private static long redisSeconds(RedisBackend b) {
    return Long.parseLong(new String(join(join(b.shard(0)).time()).get(0), StandardCharsets.UTF_8));
  }

  private static AppUpdate.New change(String puid, PresenceStatus s, long version) {
    return new AppUpdate.New(puid, s, "", version, AppUpdate.Kind.CHANGE);
  }

  /**
   * A log written by the previous version (a counter key {@code useq}, the PUID guards in one hash
   * per generation, the current one with an expiry), written here by hand: readers see its counter
   * before anything is appended, and the first append carries the counter and the guards over
   * (numbering goes on from the old counter, the old guards still drop older changes) and removes
   * the old counter key, so it is not read again.
   */
  @Test
  void aLogOfTheOldFormat_goesOnFromItsCounter_withItsGuards() {
    RedisBackend b = connect();
    RedisKeys k = b.keys();
    long app = 7_801;
    long v = 1_700_000_000_000_000L;
    String useq = k.app("useq", app);
    var sync = b.commands().sync();
    long gen;
    do {
      gen = redisSeconds(b) / 3600;
      sync.set(useq, utf8("41"));
      String cur = k.app("uguards", app) + ":" + gen;
      sync.hset(cur, "~s", utf8("0"));
      sync.hset(cur, "cur", utf8((v + 5) + "|online:"));
      sync.hset(cur, "paused", utf8((v + 1) + "p|away:"));
      sync.pexpire(cur, 7_201_000);
      sync.hset(k.app("uguards", app) + ":" + (gen - 1), "prev", utf8((v + 9) + "|away:"));
      // Written across an hour's boundary: again, in the new generation.
    } while (redisSeconds(b) / 3600 != gen);

    AppUpdateLog log = new RedisAppUpdateLog(b, AppUpdateLog.RETENTION);
    assertThat(join(log.lastSeq(app))).isEqualTo(41);
    AppUpdateLog.Read before = join(log.readSince(app, 41, 10));
    assertThat(before.outcome()).isEqualTo(AppUpdateLog.Outcome.OK);
    assertThat(before.lastSeq()).isEqualTo(41);

    List<AppUpdate> first =
        join(
            log.append(
                app,
                List.of(
                    change("cur", PresenceStatus.AWAY, v + 4),
                    change("prev", PresenceStatus.ONLINE, v + 8),
                    change("paused", PresenceStatus.ONLINE, v + 2),
                    change("new", PresenceStatus.ONLINE, v + 1))));
    if (redisSeconds(b) / 3600 == gen) {
      // The old guards dropped the older changes and the paused PUID's.
      assertThat(first).extracting(AppUpdate::puid).containsExactly("new");
      assertThat(first).extracting(AppUpdate::seq).containsExactly(42L);
    } else {
      assertThat(first.get(0).seq()).isEqualTo(42L);
    }
    assertThat(sync.exists(useq)).isZero();
    List<AppUpdate> next =
        join(log.append(app, List.of(change("cur", PresenceStatus.AWAY, v + 6))));
    assertThat(next).extracting(AppUpdate::seq).containsExactly(first.size() + 42L);
    assertThat(join(log.lastSeq(app))).isEqualTo(first.size() + 42L);
    assertThat(join(log.readSince(app, 41, 10)).updates())
        .extracting(AppUpdate::seq)
        .startsWith(42L)
        .hasSize(first.size() + 1);
    // The application's hash holds the counter from now on and does not expire.
    assertThat(sync.ttl(k.app("ustate", app))).isEqualTo(-1L);
  }

  /**
   * The counter is in the application's hash with the current generation's guards: a new generation
   * moves the guards out (they still drop older changes for one generation) and keeps the counter,
   * also after an idle gap longer than two generations, after which the old guards are gone.
   * Generations last the retention, here 2 s.
   */
  @Test
  void numbering_goesOnAcrossGuardGenerations_andAnIdleGap() {
    RedisBackend b = connect();
    AppUpdateLog log = new RedisAppUpdateLog(b, Duration.ofSeconds(2));
    long app = 7_802;
    long v = 1_700_000_000_000_000L;
    long gen = redisSeconds(b) / 2;
    List<AppUpdate> first =
        join(log.append(app, List.of(change("p", PresenceStatus.ONLINE, v + 5))));
    assertThat(first).hasSize(1);
    long seq = first.get(0).seq();
    long genOfFirst = redisSeconds(b) / 2;
    if (genOfFirst == gen) {
      await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(50))
          .until(() -> redisSeconds(b) / 2 > genOfFirst);
      if (redisSeconds(b) / 2 == genOfFirst + 1) {
        // The previous generation's guard, moved out of the application's hash, still holds.
        assertThat(join(log.append(app, List.of(change("p", PresenceStatus.AWAY, v + 4)))))
            .isEmpty();
      }
    }
    assertThat(join(log.append(app, List.of(change("q", PresenceStatus.AWAY, v + 1)))))
        .extracting(AppUpdate::seq)
        .containsExactly(seq + 1);
    long genOfSecond = redisSeconds(b) / 2;
    await()
        .atMost(Duration.ofSeconds(15))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> redisSeconds(b) / 2 > genOfSecond + 2);
    assertThat(join(log.append(app, List.of(change("r", PresenceStatus.AWAY, v + 1)))))
        .extracting(AppUpdate::seq)
        .containsExactly(seq + 2);
    assertThat(join(log.lastSeq(app))).isEqualTo(seq + 2);
  }

  /**
   * Commands Redis counted so far (INFO commandstats), by name, summed over every shard, but for
   * the INFO calls themselves and a cluster client's topology refreshes and set-up.
   */
  private static java.util.Map<String, Long> calls(RedisBackend b) {
    java.util.Set<String> notCounted =
        java.util.Set.of(
            "info", "replconf", "cluster", "ping", "client", "hello", "command", "readonly");
    java.util.Map<String, Long> out = new java.util.TreeMap<>();
    for (int i = 0; i < b.shards(); i++) {
      for (String line : join(join(b.shard(i)).info("commandstats")).split("\r?\n")) {
        if (line.startsWith("cmdstat_")) {
          String name = line.substring("cmdstat_".length(), line.indexOf(':'));
          if (!notCounted.contains(name)) {
            out.merge(
                name,
                Long.parseLong(line.substring(line.indexOf('=') + 1, line.indexOf(','))),
                Long::sum);
          }
        }
      }
    }
    return out;
  }

  /**
   * The position of an application that never logged anything (an update connection or a webhook
   * sender of a new application checks it) is one {@code HGET} from its second read on, as the old
   * counter's {@code GET} was: the first read finds neither the hash's counter nor the old format's
   * key and gives the hash its counter at 0; numbering then starts at 1.
   */
  @Test
  void thePositionOfAnApplicationThatNeverLogged_isOneCommandFromItsSecondRead() {
    RedisBackend b = connect();
    AppUpdateLog log = new RedisAppUpdateLog(b, AppUpdateLog.RETENTION);
    long app = 7_803;
    assertThat(join(log.lastSeq(app))).isZero();
    java.util.Map<String, Long> before = calls(b);
    assertThat(join(log.lastSeq(app))).isZero();
    java.util.Map<String, Long> after = calls(b);
    java.util.Map<String, Long> delta = new java.util.TreeMap<>();
    after.forEach(
        (name, n) -> {
          long d = n - before.getOrDefault(name, 0L);
          if (d != 0) {
            delta.put(name, d);
          }
        });
    assertThat(delta).isEqualTo(java.util.Map.of("hget", 1L));
    assertThat(join(log.append(app, List.of(change("p", PresenceStatus.ONLINE, 1)))))
        .extracting(AppUpdate::seq)
        .containsExactly(1L);
  }
}
