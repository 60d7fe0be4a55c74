package org.presence.store.queue;

import org.junit.jupiter.api.BeforeAll;
import org.presence.store.config.StoreConfig;
import org.presence.store.testing.Backends;

/**
 * {@link RedisNotificationWakesIT} against a Redis Cluster: a user's queues and presence hash are
 * in different slots, so a batch is one enqueue call per primary holding queue slots and one lookup
 * call per primary holding presence hashes, and the wake-ups come back for the node to publish on
 * each node's shard.
 */
class RedisNotificationWakesClusterIT extends RedisNotificationWakesIT {
  @BeforeAll
  static void requireCluster() {
    Backends.redisClusterUrl();
  }

  @Override
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redisCluster(keyPrefix);
  }

  @Override
  boolean cluster() {
    return true;
  }
}
