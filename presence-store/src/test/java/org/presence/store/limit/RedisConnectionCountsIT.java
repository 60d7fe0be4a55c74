package org.presence.store.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;

/** The counts in Redis; each node has its own connection (its own {@link RedisBackend}). */
class RedisConnectionCountsIT extends ConnectionCountsContract {
  /**
   * The Redis settings: one Redis here, a Redis Cluster in {@link RedisConnectionCountsClusterIT}.
   */
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redis(keyPrefix);
  }

  private static String prefix;
  private final List<RedisBackend> backends = new CopyOnWriteArrayList<>();
  private final List<ConnectionCounts> counts = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void pickPrefix() {
    Backends.redisUrl();
    prefix = Backends.uniquePrefix(RedisConnectionCountsIT.class);
  }

  private RedisBackend backend() {
    RedisBackend b = RedisBackend.connect(redisConfig(prefix));
    backends.add(b);
    return b;
  }

  /** A backend with a key prefix of its own, for a test that looks at every key of a kind. */
  private RedisBackend ownBackend() {
    RedisBackend b =
        RedisBackend.connect(
            redisConfig(Backends.uniquePrefix(RedisConnectionCountsIT.class) + "own:"));
    backends.add(b);
    return b;
  }

  private ConnectionCounts open(RedisBackend backend, Duration lease) {
    ConnectionCounts c = new RedisConnectionCounts(backend, lease);
    counts.add(c);
    return c;
  }

  @Override
  protected ConnectionCounts open() {
    return open(backend(), Duration.ofSeconds(30));
  }

  @Override
  protected ConnectionCounts otherNode(ConnectionCounts first) {
    return open();
  }

  @Override
  protected void closeAll() {
    counts.forEach(ConnectionCounts::close);
    counts.clear();
    backends.forEach(RedisBackend::close);
    backends.clear();
  }

  /**
   * A rolling upgrade from the version that kept a lease key per node: that version's entries (a
   * count under a lease id whose key lives, written here as it wrote them) count, and leave the
   * count once the key is gone; a node of this version keeps such a key too, which is what the
   * earlier version reads, and gives it up when it closes.
   */
  @Test
  void entriesOfTheVersionWithALeaseKeyEach_countWhileTheirKeyLives() {
    RedisBackend b = ownBackend();
    RedisConnectionCounts current = (RedisConnectionCounts) open(b, Duration.ofSeconds(30));
    var redis = b.commands().sync();
    long k = key();
    String oldKey = b.keys().group("conns", "appconns:lease", "old-node");
    redis.set(oldKey, "1".getBytes(), io.lettuce.core.SetArgs.Builder.px(30_000));
    redis.hset(b.keys().group("conns", "appconns", Long.toString(k)), "old-node", "2".getBytes());
    assertThat(join(current.open(k, 10))).isTrue();
    assertThat(join(current.count(k))).isEqualTo(3);
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> redis.keys(b.keys().group("conns", "appconns:lease", "*")).size() == 2);
    redis.del(oldKey);
    assertThat(join(current.count(k))).isEqualTo(1);
    current.close();
    assertThat(redis.keys(b.keys().group("conns", "appconns:lease", "*"))).isEmpty();
  }

  /** A renewal deletes the leases that ran out and keeps the others. */
  @Test
  void aRenewal_deletesTheLeasesThatRanOut_only() {
    RedisBackend b = ownBackend();
    var redis = b.commands().sync();
    String leases = b.keys().group("conns", "appconns:leases", "");
    redis.hset(leases, "ran-out", "1000".getBytes());
    redis.hset(leases, "far-ahead", Long.toString(Long.MAX_VALUE / 2).getBytes());
    open(b, Duration.ofMillis(300));
    await().atMost(Duration.ofSeconds(5)).until(() -> !redis.hexists(leases, "ran-out"));
    assertThat(redis.hkeys(leases)).contains("far-ahead").hasSize(2);
    redis.hdel(leases, "far-ahead");
  }

  @Test
  void aNodeThatLeaves_takesItsConnectionsOutOfTheCount() {
    ConnectionCounts a = open();
    ConnectionCounts b = open();
    long k = key();
    join(a.open(k, 2));
    join(a.open(k, 2));
    assertThat(join(b.open(k, 2))).isFalse();
    a.close();
    assertThat(join(b.count(k))).isZero();
    assertThat(join(b.open(k, 2))).isTrue();
  }

  @Test
  void aNodeThatLosesRedis_dropsOutOfTheCount_whenItsLeaseRunsOut() {
    RedisBackend doomed = backend();
    ConnectionCounts a = open(doomed, Duration.ofMillis(600));
    ConnectionCounts b = open();
    long k = key();
    assertThat(join(a.open(k, 1))).isTrue();
    assertThat(join(b.open(k, 1))).isFalse();
    // The node dies without a word: its connection to Redis is gone and its lease is not renewed.
    doomed.close();
    await().atMost(Duration.ofSeconds(10)).until(() -> join(b.open(k, 1)));
    assertThat(join(b.count(k))).isEqualTo(1);
  }
}
