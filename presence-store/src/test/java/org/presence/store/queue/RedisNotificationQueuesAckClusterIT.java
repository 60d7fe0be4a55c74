package org.presence.store.queue;

import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.presence.store.config.StoreConfig;
import org.presence.store.testing.Backends;

/**
 * {@link RedisNotificationQueuesIT}, every test of it, against the test Redis Cluster (three
 * primaries, a replica each) with {@code store.redis.ack-replicas=1}: every batch is written on its
 * primaries' own connections and confirmed there with {@code WAIT} before it completes.
 */
class RedisNotificationQueuesAckClusterIT extends RedisNotificationQueuesIT {
  @BeforeAll
  static void requireCluster() {
    Backends.redisClusterUrl();
  }

  @Override
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redisCluster(keyPrefix).withAckReplicas(1, Duration.ofSeconds(1));
  }
}
