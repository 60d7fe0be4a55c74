package org.presence.store.bus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.cluster.pubsub.StatefulRedisClusterPubSubConnection;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.TopologyChange;
import org.presence.store.testing.Backends;
import org.presence.store.testing.PrivateRedis;
import org.presence.store.testing.SlotMover;

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

  /** The test cluster's primaries, as its seeds see them now. */
  private static List<RedisClusterNode> primaries() {
    RedisClusterClient raw =
        RedisClusterClient.create(RedisBackend.clusterSeeds(Backends.redisClusterUrl()));
    try {
      return raw.getPartitions().stream()
          .filter(n -> n.is(RedisClusterNode.NodeFlag.UPSTREAM) && !n.getSlots().isEmpty())
          .toList();
    } finally {
      raw.shutdown();
    }
  }

  private static String address(RedisClusterNode node) {
    return node.getUri().getHost() + ":" + node.getUri().getPort();
  }

  @Override
  String serverOf(String redisName) {
    int slot = SlotHash.getSlot(redisName);
    return primaries().stream()
        .filter(n -> n.hasSlot(slot))
        .map(RedisPresenceBusClusterIT::address)
        .findFirst()
        .orElseThrow();
  }

  @Override
  boolean redisHasSubscribers(RedisBackend backend, String redisName) {
    return !backend.commands().sync().pubsubShardChannels(redisName).isEmpty();
  }

  @Override
  void subscribePastTheBus(RedisBackend backend, String redisName) {
    join(backend.pubsub().async().ssubscribe(redisName));
  }

  @Override
  List<String> servers() {
    return primaries().stream().map(RedisPresenceBusClusterIT::address).toList();
  }

  /**
   * An operator moves the slot of a subscribed channel to another primary and back (live
   * resharding): Redis ends the subscriptions on the old primary ({@code SUNSUBSCRIBE} sent to the
   * subscriber), and the bus subscribes again on the new one, so messages published after each move
   * arrive within a few seconds, not at the client's next periodic topology reload (30 s). A
   * private three-primary cluster.
   */
  @Test
  void aSubscribedChannelsSlotMoves_messagesFollowIt(@TempDir Path dir) throws Exception {
    try (PrivateRedis cluster = PrivateRedis.cluster(dir, null, null);
        SlotMover mover = new SlotMover(cluster.ports());
        RedisBackend subscriber = cluster.clusterBackend("m:");
        RedisBackend publisher = cluster.clusterBackend("m:")) {
      PresenceBus here = new RedisPresenceBus(subscriber);
      PresenceBus there = new RedisPresenceBus(publisher);
      String channel = "presence.app.{a:77}";
      List<String> got = new CopyOnWriteArrayList<>();
      join(here.subscribe(channel, (c, m) -> got.add(new String(m, StandardCharsets.UTF_8))));
      List<Set<String>> rounds = new CopyOnWriteArrayList<>();
      here.onResubscribed(rounds::add);
      join(there.publish(channel, "before".getBytes(StandardCharsets.UTF_8)));
      await().atMost(Duration.ofSeconds(5)).until(() -> got.contains("before"));
      int slot = SlotHash.getSlot("{a:77}");
      int home = mover.ownerOf(slot);
      for (int to : List.of(mover.otherThan(slot), home)) {
        mover.move(slot, to, Duration.ZERO);
        String after = "after a move to " + to;
        publishUntil(there, channel, after, () -> got.contains(after));
        // The listeners heard of the round that subscribed the channel again, with it.
        await()
            .atMost(Duration.ofSeconds(5))
            .until(() -> rounds.stream().anyMatch(r -> r.contains(channel)));
        rounds.clear();
      }
    }
  }

  /**
   * A topology change subscribes again only the channels whose slot's primary changed: with two
   * channels on one primary and one of their slots moved, the other channel is never in a
   * resubscription round (so its listeners, which re-read queues, do no work for a move that did
   * not touch it), and messages keep reaching both. A private three-primary cluster.
   */
  @Test
  void aTopologyChange_resubscribesOnlyTheChannelsWhoseSlotMoved(@TempDir Path dir)
      throws Exception {
    try (PrivateRedis cluster = PrivateRedis.cluster(dir, null, null);
        SlotMover mover = new SlotMover(cluster.ports());
        RedisBackend subscriber = cluster.clusterBackend("t:");
        RedisBackend publisher = cluster.clusterBackend("t:")) {
      PresenceBus here = new RedisPresenceBus(subscriber);
      PresenceBus there = new RedisPresenceBus(publisher);
      String moving = "presence.app.{a:77}";
      int slot = SlotHash.getSlot("{a:77}");
      int home = mover.ownerOf(slot);
      String staying =
          IntStream.iterate(0, i -> i + 1)
              .mapToObj(i -> "{a:" + i + "}")
              .filter(
                  t -> SlotHash.getSlot(t) != slot && mover.ownerOf(SlotHash.getSlot(t)) == home)
              .findFirst()
              .map(t -> "presence.app." + t)
              .orElseThrow();
      List<String> got = new CopyOnWriteArrayList<>();
      join(here.subscribe(moving, (c, m) -> got.add(c + " " + text(m))));
      join(here.subscribe(staying, (c, m) -> got.add(c + " " + text(m))));
      List<Set<String>> rounds = new CopyOnWriteArrayList<>();
      here.onResubscribed(rounds::add);
      List<TopologyChange> changes = new CopyOnWriteArrayList<>();
      subscriber.onTopologyChange(changes::add);

      mover.move(slot, mover.otherThan(slot), Duration.ZERO);
      // Both ways of learning of the move: Redis ending the subscription (one round), and the
      // client's topology reload (asked for here at most once a second, as the bus does).
      await()
          .atMost(Duration.ofSeconds(15))
          .pollInterval(Duration.ofMillis(200))
          .until(
              () -> {
                subscriber.refreshTopology();
                return changes.stream().anyMatch(c -> c.moved(subscriber.keys().channel(moving)))
                    && rounds.size() >= 2;
              });
      assertThat(changes).noneMatch(c -> c.moved(subscriber.keys().channel(staying)));
      assertThat(rounds).allMatch(r -> r.contains(moving)).noneMatch(r -> r.contains(staying));
      for (String channel : List.of(moving, staying)) {
        publishUntil(there, channel, "after", () -> got.contains(channel + " after"));
      }
    }
  }

  private static String text(byte[] m) {
    return new String(m, StandardCharsets.UTF_8);
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
