package org.presence.store.updates;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeAll;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;

class RedisWebhookStateIT extends WebhookStateContract {
  /** The Redis settings: one Redis here, a Redis Cluster in {@link RedisWebhookStateClusterIT}. */
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redis(keyPrefix);
  }

  private static String prefix;
  private final List<RedisBackend> backends = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void pickPrefix() {
    Backends.redisUrl();
    prefix = Backends.uniquePrefix(RedisWebhookStateIT.class);
  }

  private RedisBackend connect() {
    RedisBackend b = RedisBackend.connect(redisConfig(prefix));
    backends.add(b);
    return b;
  }

  @Override
  protected WebhookState open() {
    return new RedisWebhookState(connect());
  }

  @Override
  protected WebhookState peer(WebhookState state) {
    return new RedisWebhookState(connect());
  }

  @Override
  protected void closeAll() {
    backends.forEach(RedisBackend::close);
    backends.clear();
  }
}
