package org.presence.store.cluster;

import org.junit.jupiter.api.BeforeAll;
import org.presence.store.config.StoreConfig;
import org.presence.store.testing.Backends;

/** {@link RedisSharedValuesIT}, every test of it, against a Redis Cluster. */
class RedisSharedValuesClusterIT extends RedisSharedValuesIT {
  @BeforeAll
  static void requireCluster() {
    Backends.redisClusterUrl();
  }

  @Override
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redisCluster(keyPrefix);
  }
}
