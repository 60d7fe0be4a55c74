package org.presence.store.queue;

import org.junit.jupiter.api.BeforeAll;
import org.presence.store.config.StoreConfig;
import org.presence.store.testing.Backends;

/** {@link RedisNotificationQueuesIT}, every test of it, against a Redis Cluster. */
class RedisNotificationQueuesClusterIT extends RedisNotificationQueuesIT {
  @BeforeAll
  static void requireCluster() {
    Backends.redisClusterUrl();
  }

  @Override
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redisCluster(keyPrefix);
  }
}
