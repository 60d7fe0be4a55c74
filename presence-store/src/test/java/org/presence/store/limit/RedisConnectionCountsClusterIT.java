package org.presence.store.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.store.testing.Futures.join;

import io.lettuce.core.cluster.SlotHash;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;
import org.presence.store.testing.PrivateRedis;
import org.presence.store.testing.Rounds;
import org.presence.store.testing.SlotMover;

/** {@link RedisConnectionCountsIT}, every test of it, against a Redis Cluster. */
class RedisConnectionCountsClusterIT extends RedisConnectionCountsIT {
  @BeforeAll
  static void requireCluster() {
    Backends.redisClusterUrl();
  }

  @Override
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redisCluster(keyPrefix);
  }

  /**
   * The counts' keys share one slot (tag {@code {conns}}); an operator moves that slot to another
   * primary and back a key at a time while two nodes hold update connections of several
   * applications and one of them opens and closes more. Every call answers without an error and
   * every count is the true one, during the move and after it: no node's connections are dropped
   * from a count because its lease looked absent while the slot's keys were apart. A private
   * three-primary cluster, so that the shared one keeps its slots.
   */
  @Test
  void countsHoldWhileTheirSlotMoves(@TempDir Path dir) throws Exception {
    try (PrivateRedis cluster = PrivateRedis.cluster(dir, null, null);
        SlotMover mover = new SlotMover(cluster.ports());
        RedisBackend ra = cluster.clusterBackend("c:");
        RedisBackend rb = cluster.clusterBackend("c:");
        RedisConnectionCounts a = new RedisConnectionCounts(ra, Duration.ofSeconds(30));
        RedisConnectionCounts b = new RedisConnectionCounts(rb, Duration.ofSeconds(30))) {
      int apps = 12;
      for (long app = 1; app <= apps; app++) {
        for (int i = 0; i < 3; i++) {
          assertThat(join(a.open(app, 100))).isTrue();
        }
        for (int i = 0; i < 2; i++) {
          assertThat(join(b.open(app, 100))).isTrue();
        }
      }
      List<String> failures = new CopyOnWriteArrayList<>();
      Rounds.during(
          "counts",
          round -> {
            long app = 1 + round % apps;
            try {
              if (!join(b.open(app, 100))) {
                failures.add("round " + round + ": refused");
              }
              int during = join(a.count(app));
              join(b.closed(app));
              int after = join(b.count(app));
              if (during != 6 || after != 5) {
                failures.add("round " + round + ", app " + app + ": " + during + ", " + after);
              }
            } catch (Exception | AssertionError e) {
              failures.add("round " + round + ": " + e);
            }
          },
          rounds -> mover.awayAndBack(SlotHash.getSlot("{conns}"), Duration.ofMillis(25), rounds));
      assertThat(failures).isEmpty();
      for (long app = 1; app <= apps; app++) {
        assertThat(join(a.count(app))).as("app " + app).isEqualTo(5);
      }
    }
  }
}
