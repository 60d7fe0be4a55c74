package org.presence.store.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.cluster.SlotHash;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
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
   * While the registry's slot is half moved (the leases on the new primary and the set of nodes not
   * yet, then, moving back, the other way round), the live nodes and the expired ones asked for
   * meanwhile come back right once the keys are together again: never a live node left out. The
   * presence sweep releases the devices of every node {@code alive} leaves out, so a live node read
   * as dead here would take its users offline. A private three-primary cluster.
   */
  @Test
  void aliveAndExpired_areRightWhileTheRegistrysKeysAreApart(@TempDir Path dir) throws Exception {
    try (PrivateRedis cluster = PrivateRedis.cluster(dir, null, null);
        SlotMover mover = new SlotMover(cluster.ports());
        RedisBackend r = cluster.clusterBackend("h:")) {
      RedisNodeRegistry registry = new RedisNodeRegistry(r);
      List<String> nodes = List.of("a", "b", "c");
      for (String n : nodes) {
        registry
            .heartbeat(n, Duration.ofSeconds(30))
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
      }
      int slot = SlotHash.getSlot("{nodes}");
      int home = mover.ownerOf(slot);
      List<String> order = List.of("h:nodes:leases:{nodes}", "h:nodes:{nodes}");
      for (int to : List.of(mover.otherThan(slot), home)) {
        mover.begin(slot, to);
        mover.migrate(slot, order.get(to == home ? 1 : 0));
        CompletableFuture<List<String>> alive = registry.alive().toCompletableFuture();
        CompletableFuture<List<String>> expired = registry.expired().toCompletableFuture();
        Thread.sleep(200);
        mover.migrate(slot, order.get(to == home ? 0 : 1));
        mover.finish(slot);
        assertThat(alive.get(10, TimeUnit.SECONDS)).containsExactlyInAnyOrderElementsOf(nodes);
        assertThat(expired.get(10, TimeUnit.SECONDS)).isEmpty();
      }
    }
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
        RedisBackend r = cluster.clusterBackend("n:")) {
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
              // The presence sweep releases the devices of every node this leaves out.
              List<String> alive = registry.alive().toCompletableFuture().get(10, TimeUnit.SECONDS);
              if (!alive.containsAll(nodes)) {
                failures.add("round " + round + ", alive: " + alive);
              }
              List<String> expired =
                  registry.expired().toCompletableFuture().get(10, TimeUnit.SECONDS);
              if (!expired.isEmpty()) {
                failures.add("round " + round + ", expired: " + expired);
              }
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
