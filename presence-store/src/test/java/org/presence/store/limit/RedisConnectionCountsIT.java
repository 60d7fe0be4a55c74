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
