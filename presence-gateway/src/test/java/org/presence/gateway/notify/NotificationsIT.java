package org.presence.gateway.notify;

import io.lettuce.core.KillArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.TestCluster;
import org.presence.gateway.testing.TestNode;
import org.presence.store.testing.Backends;

/**
 * Live notifications on a two-node cluster: PostgreSQL and Redis from {@code bin/test-all}, the
 * queues in Redis, two nodes sharing them (and one development key). Items posted to node A reach
 * devices on node B through the bus; receipts published by either appear on the Redis bus.
 */
class NotificationsIT extends NotificationsContract {
  @TempDir static Path root;
  private static TestCluster cluster;
  private static TestNode a;
  private static TestNode b;

  @BeforeAll
  static void start() {
    cluster = TestCluster.create(NotificationsIT.class, root, "notify-it", notifySettings());
    a = cluster.start(Map.of());
    b = cluster.start(Map.of());
  }

  @AfterAll
  static void stop() {
    for (TestNode n : new TestNode[] {a, b}) {
      if (n != null) {
        n.close();
      }
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  @Override
  protected TestNode nodeA() {
    return a;
  }

  @Override
  protected TestNode nodeB() {
    return b;
  }

  @Override
  protected TestNode startNode(Map<String, String> overrides) {
    return cluster.start(overrides);
  }

  @Override
  protected boolean cutPubSubConnections() {
    RedisClient raw = RedisClient.create(Backends.redisUrl());
    try (StatefulRedisConnection<String, String> c = raw.connect()) {
      c.sync().clientKill(KillArgs.Builder.typePubsub());
    } finally {
      raw.shutdown();
    }
    return true;
  }

  @Override
  protected boolean refuseScripts(String key, boolean refuse) {
    RedisClient raw = RedisClient.create(Backends.redisUrl());
    try (StatefulRedisConnection<String, String> c = raw.connect()) {
      RedisScripts.refuse(c.sync(), refuse);
    } finally {
      raw.shutdown();
    }
    return true;
  }
}
