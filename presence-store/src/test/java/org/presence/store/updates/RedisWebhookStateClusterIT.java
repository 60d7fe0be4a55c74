package org.presence.store.updates;

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

/** {@link RedisWebhookStateIT}, every test of it, against a Redis Cluster. */
class RedisWebhookStateClusterIT extends RedisWebhookStateIT {
  @BeforeAll
  static void requireCluster() {
    Backends.redisClusterUrl();
  }

  @Override
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redisCluster(keyPrefix);
  }

  /**
   * The webhook senders' keys share one slot (tag {@code {webhooks}}); an operator moves that slot
   * to another primary and back a key at a time while two nodes each hold the leases of some
   * applications, renew them, save their cursors and read them back, and release and take one
   * again. Every call answers without an error, no lease changes hands, and every cursor read is
   * the last one saved. A private three-primary cluster, so that the shared one keeps its slots.
   */
  @Test
  void leasesAndCursorsHoldWhileTheirSlotMoves(@TempDir Path dir) throws Exception {
    try (PrivateRedis cluster = PrivateRedis.cluster(dir, null, null);
        SlotMover mover = new SlotMover(cluster.ports());
        RedisBackend r = cluster.clusterBackend("w:")) {
      RedisWebhookState state = new RedisWebhookState(r);
      Duration ttl = Duration.ofSeconds(30);
      int apps = 10;
      for (long app = 1; app <= apps; app++) {
        assertThat(join(state.acquire(app, app % 2 == 0 ? "a" : "b", ttl))).isTrue();
        join(state.initCursor(app, new WebhookState.Cursor(0, 0)));
      }
      List<String> failures = new CopyOnWriteArrayList<>();
      Rounds.during(
          "webhooks",
          round -> {
            long app = 1 + round % apps;
            String holder = app % 2 == 0 ? "a" : "b";
            String other = app % 2 == 0 ? "b" : "a";
            try {
              if (!join(state.renew(app, holder, ttl))) {
                failures.add("round " + round + ", app " + app + ": renewal refused");
              }
              if (join(state.acquire(app, other, ttl))) {
                failures.add("round " + round + ", app " + app + ": taken by the other node");
              }
              WebhookState.Cursor saved = new WebhookState.Cursor(round + 1, round);
              if (!join(state.saveCursor(app, holder, saved))) {
                failures.add("round " + round + ", app " + app + ": cursor refused");
              }
              if (!saved.equals(join(state.cursor(app)).orElse(null))) {
                failures.add("round " + round + ", app " + app + ": cursor not the one saved");
              }
              // One in five: released and taken again, the set of apps needing a sender with it.
              if (round % 5 == 0) {
                join(state.release(app, holder, false));
                if (!join(state.acquire(app, holder, ttl))) {
                  failures.add("round " + round + ", app " + app + ": not taken again");
                }
              }
            } catch (Exception | AssertionError e) {
              failures.add("round " + round + ", app " + app + ": " + e);
            }
          },
          rounds ->
              mover.awayAndBack(SlotHash.getSlot("{webhooks}"), Duration.ofMillis(20), rounds));
      assertThat(failures).isEmpty();
      assertThat(join(state.pending()))
          .containsExactlyInAnyOrder(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L);
    }
  }
}
