package org.presence.store.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.Store;
import org.presence.store.config.StoreConfig;
import org.presence.store.testing.Backends;
import org.presence.store.testing.Futures;

/**
 * On a Redis Cluster the health check's write reaches every primary: one full primary fails the
 * store's health as "Redis is full (maxmemory)" whichever it is. The full one here is a primary
 * other than the one holding {@code <prefix>health} (the one key the check used to write, which
 * missed it): its {@code maxmemory} is lowered under what it uses (noeviction), then put back.
 */
class RedisFullClusterIT {
  @TempDir Path dir;

  @Test
  void aFullPrimary_failsTheHealth_whicheverPrimaryItIs() throws Exception {
    String prefix = Backends.uniquePrefix(getClass());
    StoreConfig config =
        new StoreConfig(
            dir.resolve("data"),
            StoreConfig.DatabaseConfig.embedded(),
            Backends.redisCluster(prefix),
            2,
            64);
    try (Store store = Store.open(config);
        RedisBackend backend = RedisBackend.connect(Backends.redisCluster(prefix))) {
      assertThat(Futures.join(store.health()).get("bus")).isNull();

      String keyOwner = backend.primaryOf(SlotHash.getSlot(prefix + "health"));
      String other =
          backend.primarySlots().stream()
              .map(backend::primaryOf)
              .filter(id -> !id.equals(keyOwner))
              .findFirst()
              .orElseThrow();
      RedisClusterAsyncCommands<String, byte[]> node =
          backend.node(other).toCompletableFuture().get(10, TimeUnit.SECONDS);
      Map<String, String> before =
          node.configGet("maxmemory", "maxmemory-policy").get(10, TimeUnit.SECONDS);
      try {
        long used =
            node.info("memory")
                .get(10, TimeUnit.SECONDS)
                .lines()
                .filter(l -> l.startsWith("used_memory:"))
                .mapToLong(l -> Long.parseLong(l.substring("used_memory:".length()).trim()))
                .findFirst()
                .orElseThrow();
        node.configSet("maxmemory-policy", "noeviction").get(10, TimeUnit.SECONDS);
        node.configSet("maxmemory", Long.toString(used / 2)).get(10, TimeUnit.SECONDS);

        assertThat(Futures.join(store.health()).get("bus")).isEqualTo(RedisErrors.FULL);
      } finally {
        node.configSet(before).get(10, TimeUnit.SECONDS);
      }
      assertThat(Futures.join(store.health()).get("bus")).isNull();
    }
  }
}
