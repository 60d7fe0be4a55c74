package org.presence.store.limit;

import org.junit.jupiter.api.BeforeAll;
import org.presence.store.config.StoreConfig;
import org.presence.store.testing.Backends;

/** {@link RedisConnectionCountsIT}, every test of it, against a Redis Cluster. */
class RedisConnectionCountsClusterIT extends RedisConnectionCountsIT {
  @BeforeAll
  static void requireCluster() {
    Backends.redisClusterUrl();
  }

  @Override
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redisCluster(keyPrefix);
  }
}
