package org.presence.store.limit;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeAll;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;

/** The buckets in Redis; each node has its own connection (its own {@link RedisBackend}). */
class RedisTokenBucketsIT extends TokenBucketsContract {
  /** The Redis settings: one Redis here, a Redis Cluster in {@link RedisTokenBucketsClusterIT}. */
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redis(keyPrefix);
  }

  private static String prefix;
  private final List<RedisBackend> backends = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void pickPrefix() {
    Backends.redisUrl();
    prefix = Backends.uniquePrefix(RedisTokenBucketsIT.class);
  }

  private RedisBackend backend() {
    RedisBackend b = RedisBackend.connect(redisConfig(prefix));
    backends.add(b);
    return b;
  }

  @Override
  protected TokenBuckets open(double perSecond, int burst) {
    return new RedisTokenBuckets(backend(), "test", perSecond, burst, 1000);
  }

  @Override
  protected TokenBuckets otherNode(TokenBuckets first, double perSecond, int burst) {
    return open(perSecond, burst);
  }

  @Override
  protected void closeAll() {
    backends.forEach(RedisBackend::close);
    backends.clear();
  }
}
