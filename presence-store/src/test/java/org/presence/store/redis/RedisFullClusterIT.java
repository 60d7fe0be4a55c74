package org.presence.store.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.Store;
import org.presence.store.config.StoreConfig;
import org.presence.store.testing.Backends;
import org.presence.store.testing.FullPrimary;
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

      try (FullPrimary full = FullPrimary.otherThanOf(backend, prefix + "health")) {
        assertThat(Futures.join(store.health()).get("bus")).isEqualTo(RedisErrors.FULL);
      }
      assertThat(Futures.join(store.health()).get("bus")).isNull();
    }
  }
}
