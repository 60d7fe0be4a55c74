package org.presence.store.presence;

import org.junit.jupiter.api.BeforeAll;
import org.presence.store.config.StoreConfig;
import org.presence.store.testing.Backends;

/** {@link RedisPresenceStateStoreIT}, every test of it, against a Redis Cluster. */
class RedisPresenceStateStoreClusterIT extends RedisPresenceStateStoreIT {
  @BeforeAll
  static void requireCluster() {
    Backends.redisClusterUrl();
  }

  @Override
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redisCluster(keyPrefix);
  }
}
