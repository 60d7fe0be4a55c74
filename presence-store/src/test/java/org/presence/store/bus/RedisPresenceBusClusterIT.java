package org.presence.store.bus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.pubsub.StatefulRedisClusterPubSubConnection;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;

/** {@link RedisPresenceBusIT}, every test of it, against a Redis Cluster. */
class RedisPresenceBusClusterIT extends RedisPresenceBusIT {
  @BeforeAll
  static void requireCluster() {
    Backends.redisClusterUrl();
  }

  @Override
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redisCluster(keyPrefix);
  }

  /**
   * An operator moves the slot of a subscribed channel to another primary and back (live
   * resharding): Redis ends the subscriptions on the old primary ({@code SUNSUBSCRIBE} sent to the
   * subscriber), and the bus subscribes again on the new one, so messages published after each move
   * arrive within a few seconds, not at the client's next periodic topology reload (30 s). A
   * private three-primary cluster.
   */
  @Test
  void aSubscribedChannelsSlotMoves_messagesFollowIt(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    try (org.presence.store.testing.PrivateRedis cluster =
            org.presence.store.testing.PrivateRedis.cluster(dir, null, null);
        org.presence.store.testing.SlotMover mover =
            new org.presence.store.testing.SlotMover(cluster.ports());
        RedisBackend subscriber = cluster.clusterBackend("m:");
        RedisBackend publisher = cluster.clusterBackend("m:")) {
      PresenceBus here = new RedisPresenceBus(subscriber);
      PresenceBus there = new RedisPresenceBus(publisher);
      String channel = "presence.app.{a:77}";
      List<String> got = new CopyOnWriteArrayList<>();
      join(here.subscribe(channel, (c, m) -> got.add(new String(m, StandardCharsets.UTF_8))));
      List<java.util.Set<String>> rounds = new CopyOnWriteArrayList<>();
      here.onResubscribed(rounds::add);
      join(there.publish(channel, "before".getBytes(StandardCharsets.UTF_8)));
      await().atMost(Duration.ofSeconds(5)).until(() -> got.contains("before"));
      int slot = io.lettuce.core.cluster.SlotHash.getSlot("{a:77}");
      int home = mover.ownerOf(slot);
      for (int to : List.of(mover.otherThan(slot), home)) {
        mover.move(slot, to, Duration.ZERO);
        String after = "after a move to " + to;
        await()
            .atMost(Duration.ofSeconds(5))
            .pollInterval(Duration.ofMillis(100))
            .until(
                () -> {
                  join(there.publish(channel, after.getBytes(StandardCharsets.UTF_8)));
                  return got.contains(after);
                });
        // The listeners heard of the round that subscribed the channel again, with it.
        await()
            .atMost(Duration.ofSeconds(5))
            .until(() -> rounds.stream().anyMatch(r -> r.contains(channel)));
        rounds.clear();
      }
    }
  }

  /**
   * On a cluster the bus uses sharded pub/sub: the message reaches the bus's subscribers, but a
   * classic {@code SUBSCRIBE} to the same Redis channel on every primary never sees it (a {@code
   * PUBLISH} would have been broadcast to all of them), and only the primary of the channel's slot
   * knows the channel.
   */
  @Test
  void publish_isShardedPubSub_notBroadcastOverTheCluster() {
    String channel = "presence.app.{a:4242}";
    String redisName = backends.get(0).keys().channel(channel);
    RedisClusterClient raw =
        RedisClusterClient.create(RedisBackend.clusterSeeds(Backends.redisClusterUrl()));
    try (StatefulRedisClusterPubSubConnection<String, String> classic = raw.connectPubSub()) {
      List<String> classicGot = new CopyOnWriteArrayList<>();
      classic.setNodeMessagePropagation(true);
      classic.addListener(
          new RedisPubSubAdapter<>() {
            @Override
            public void message(String c, String m) {
              classicGot.add(m);
            }
          });
      classic.sync().upstream().commands().subscribe(redisName);
      List<String> got = new CopyOnWriteArrayList<>();
      join(bus.subscribe(channel, (c, m) -> got.add(new String(m, StandardCharsets.UTF_8))));
      join(peer.publish(channel, "sharded".getBytes(StandardCharsets.UTF_8)));
      await().atMost(Duration.ofSeconds(5)).until(() -> got.equals(List.of("sharded")));
      await().during(Duration.ofMillis(300)).until(classicGot::isEmpty);
      List<String> shardChannels = backends.get(0).commands().sync().pubsubShardChannels(redisName);
      assertThat(shardChannels).containsExactly(redisName);
    } finally {
      raw.shutdown();
    }
  }
}
