package org.presence.store.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.cluster.SlotHash;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;
import org.presence.store.testing.PrivateRedis;
import org.presence.store.testing.Rounds;
import org.presence.store.testing.SlotMover;

/** {@link RedisNodeRegistryIT}, every test of it, against a Redis Cluster. */
class RedisNodeRegistryClusterIT extends RedisNodeRegistryIT {
  @BeforeAll
  static void requireCluster() {
    Backends.redisClusterUrl();
  }

  @Override
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redisCluster(keyPrefix);
  }

  /**
   * The registry's keys share one slot (tag {@code {nodes}}); an operator moves that slot to
   * another primary and back a key at a time while three nodes beat and one lists the live nodes.
   * Every heartbeat keeps its node alive and every call answers without an error: a call refused
   * while the slot's keys are apart goes again ({@code RedisScript}). A private three-primary
   * cluster, so that the shared one keeps its slots.
   */
  @Test
  void heartbeatsGoOnWhileTheRegistrysSlotMoves(@TempDir Path dir) throws Exception {
    try (PrivateRedis cluster = PrivateRedis.cluster(dir, null, null);
        SlotMover mover = new SlotMover(cluster.ports());
        RedisBackend r =
            RedisBackend.connect(
                StoreConfig.RedisConfig.redis(cluster.clusterUrl()).withKeyPrefix("n:"))) {
      RedisNodeRegistry registry = new RedisNodeRegistry(r);
      List<String> nodes = List.of("a", "b", "c");
      List<String> failures = new CopyOnWriteArrayList<>();
      Rounds.during(
          "beats",
          round -> {
            for (String n : nodes) {
              try {
                // False on a node's first heartbeat (it joins); true after, while alive.
                if (!registry
                        .heartbeat(n, Duration.ofSeconds(30))
                        .toCompletableFuture()
                        .get(10, TimeUnit.SECONDS)
                    && round > 0) {
                  failures.add("round " + round + ", " + n + ": lease lost");
                }
              } catch (Exception e) {
                failures.add("round " + round + ", " + n + ": " + e);
              }
            }
            try {
              registry.alive().toCompletableFuture().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
              failures.add("round " + round + ", alive: " + e);
            }
          },
          rounds -> mover.awayAndBack(SlotHash.getSlot("{nodes}"), Duration.ofMillis(25), rounds));
      assertThat(failures).isEmpty();
      assertThat(registry.alive().toCompletableFuture().get(10, TimeUnit.SECONDS))
          .containsExactlyInAnyOrderElementsOf(nodes);
    }
  }
}
