package org.presence.gateway.fanout;

import org.junit.jupiter.api.BeforeAll;
import org.presence.store.config.StoreConfig;
import org.presence.store.testing.Backends;

/** {@link RedisAppUpdatePublisherIT}, every test of it, against a Redis Cluster. */
class RedisAppUpdatePublisherClusterIT extends RedisAppUpdatePublisherIT {
  @BeforeAll
  static void requireCluster() {
    Backends.redisClusterUrl();
  }

  @Override
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redisCluster(keyPrefix);
  }
}
