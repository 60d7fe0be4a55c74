package org.presence.store.updates;

import org.junit.jupiter.api.BeforeAll;
import org.presence.store.config.StoreConfig;
import org.presence.store.testing.Backends;

/** {@link RedisAppUpdateLogIT}, every test of it, against a Redis Cluster. */
class RedisAppUpdateLogClusterIT extends RedisAppUpdateLogIT {
  @BeforeAll
  static void requireCluster() {
    Backends.redisClusterUrl();
  }

  @Override
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redisCluster(keyPrefix);
  }
}
