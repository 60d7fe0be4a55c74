package org.presence.store.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.Store;
import org.presence.store.config.StoreConfig;
import org.presence.store.error.StoreException;
import org.presence.store.queue.Notification;
import org.presence.store.queue.NotificationQueues;
import org.presence.store.queue.RedisNotificationQueues;
import org.presence.store.testing.Futures;
import org.presence.store.testing.PrivateRedis;
import org.presence.store.testing.RedisFiller;

/**
 * A Redis at its {@code maxmemory} (noeviction) refuses writes with its {@code OOM} answer. That is
 * its own reason, "Redis is full (maxmemory)", in the error a caller answers with and in the
 * store's health, counted, rather than "redis unavailable" as for a Redis that does not answer
 * (probe s33 F6). A private Redis started here, its maxmemory set just above what it holds, filled.
 */
class RedisFullIT {
  @TempDir Path dir;

  @Test
  void aFullRedis_isNamedFull_inTheErrorTheHealthAndTheCount() throws Exception {
    try (PrivateRedis redis = PrivateRedis.single(dir.resolve("redis"), null, null)) {
      int port = redis.ports().get(0);
      String url = "redis://127.0.0.1:" + port;
      StoreConfig config =
          new StoreConfig(
              dir.resolve("data"),
              StoreConfig.DatabaseConfig.embedded(),
              StoreConfig.RedisConfig.redis(url).withKeyPrefix("full:"),
              2,
              64);
      // The store (embedded database, Redis bus) for its health; the queues on the same Redis.
      try (Store store = Store.open(config);
          RedisBackend backend =
              RedisBackend.connect(StoreConfig.RedisConfig.redis(url).withKeyPrefix("full:"))) {
        NotificationQueues queues = new RedisNotificationQueues(backend);
        Map<String, String> fine = Futures.join(store.health());
        assertThat(fine.get("bus")).isNull();

        long refusedBefore = RedisErrors.fullRefusals();
        redis.cli(port, "config", "set", "maxmemory-policy", "noeviction");
        redis.cli(port, "config", "set", "maxmemory", "4mb");
        RedisFiller filler = RedisFiller.untilFull(url);

        Notification n =
            new Notification(
                "0123456789abcdef0123456789abcdef",
                5,
                "puid-5",
                "App 5",
                "hello",
                "https://app5.example/open",
                Instant.now(),
                Instant.now().plusSeconds(60),
                false);
        StoreException e = Futures.storeFailure(queues.enqueue("full-user", n));
        assertThat(e.code()).isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);
        assertThat(e.detail()).isEqualTo(RedisErrors.FULL);
        assertThat(e.getMessage()).contains("Redis is full (maxmemory)");
        assertThat(RedisErrors.fullRefusals()).isGreaterThan(refusedBefore);

        Map<String, String> health = Futures.join(store.health());
        assertThat(health.get("bus")).isEqualTo(RedisErrors.FULL);

        // Room again (maxmemory raised): the health is fine, writes are taken.
        redis.cli(port, "config", "set", "maxmemory", "0");
        filler.close();
        assertThat(Futures.join(store.health()).get("bus")).isNull();
        Futures.join(queues.enqueue("full-user", n));
        assertThat(Futures.join(queues.pending("full-user")))
            .extracting(Notification::id)
            .isEqualTo(List.of(n.id()));
      }
    }
  }
}
