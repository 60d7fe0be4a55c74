package org.presence.gateway.notify;

import io.lettuce.core.KillArgs;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.TestCluster;
import org.presence.gateway.testing.TestNode;
import org.presence.store.queue.UserKeys;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.RedisKeys;
import org.presence.store.testing.Backends;

/**
 * {@link NotificationsIT} on a Redis Cluster: a batch is stored with one call per queue slot, the
 * recipients' sessions are found with one call per presence slot, and the wake-ups go out with
 * {@code SPUBLISH} on each node's shard.
 */
class NotificationsRedisClusterIT extends NotificationsContract {
  @TempDir static Path root;
  private static TestCluster cluster;
  private static TestNode a;
  private static TestNode b;

  @BeforeAll
  static void start() {
    Backends.redisClusterUrl();
    cluster =
        TestCluster.create(
            NotificationsRedisClusterIT.class, root, "notify-rc-it", notifySettings());
    a = cluster.start(onCluster(Map.of()));
    b = cluster.start(onCluster(Map.of()));
  }

  private static Map<String, String> onCluster(Map<String, String> overrides) {
    Map<String, String> s = new HashMap<>(overrides);
    s.putIfAbsent("store.redis.url", Backends.redisClusterUrl());
    return s;
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
    return cluster.start(onCluster(overrides));
  }

  @Override
  protected boolean cutPubSubConnections() {
    RedisClusterClient raw =
        RedisClusterClient.create(RedisBackend.clusterSeeds(Backends.redisClusterUrl()));
    try (StatefulRedisClusterConnection<String, String> c = raw.connect()) {
      c.sync().upstream().commands().clientKill(KillArgs.Builder.typePubsub());
    } finally {
      raw.shutdown();
    }
    return true;
  }

  @Override
  protected boolean refuseScripts(String key, boolean refuse) {
    RedisClusterClient raw =
        RedisClusterClient.create(RedisBackend.clusterSeeds(Backends.redisClusterUrl()));
    try (StatefulRedisClusterConnection<String, String> c = raw.connect()) {
      for (RedisClusterNode n : c.getPartitions()) {
        if (n.is(RedisClusterNode.NodeFlag.UPSTREAM)
            && (key == null || n.hasSlot(SlotHash.getSlot(key)))) {
          RedisScripts.refuse(c.getConnection(n.getNodeId()).sync(), refuse);
        }
      }
    } finally {
      raw.shutdown();
    }
    return true;
  }

  @Override
  protected String presenceApartFromQueues(String sub, long appId) {
    RedisKeys keys = new RedisKeys(cluster.prefix());
    String presence = keys.presence(sub);
    String queues = keys.user("nqa", UserKeys.of(sub));
    // The application's rate bucket (RedisTokenBuckets), taken by every post.
    String bucket = keys.group("r:notify:" + appId, "rate", "");
    // And its queued count (RedisNotificationQueues' per-application limit), taken by every post.
    String count = keys.app("nqc", appId);
    RedisClusterClient raw =
        RedisClusterClient.create(RedisBackend.clusterSeeds(Backends.redisClusterUrl()));
    try (StatefulRedisClusterConnection<String, String> c = raw.connect()) {
      RedisClusterNode p = c.getPartitions().getPartitionBySlot(SlotHash.getSlot(presence));
      RedisClusterNode q = c.getPartitions().getPartitionBySlot(SlotHash.getSlot(queues));
      RedisClusterNode r = c.getPartitions().getPartitionBySlot(SlotHash.getSlot(bucket));
      RedisClusterNode n = c.getPartitions().getPartitionBySlot(SlotHash.getSlot(count));
      boolean apart =
          !p.getNodeId().equals(q.getNodeId())
              && !p.getNodeId().equals(r.getNodeId())
              && !p.getNodeId().equals(n.getNodeId());
      return apart ? presence : null;
    } finally {
      raw.shutdown();
    }
  }
}
