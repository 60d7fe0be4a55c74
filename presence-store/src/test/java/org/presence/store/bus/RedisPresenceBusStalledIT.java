package org.presence.store.bus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.PrivateRedis;

/** The bus when Redis stops answering: a private Redis, stopped with SIGSTOP. */
class RedisPresenceBusStalledIT {
  /**
   * Redis stalls while a channel's first subscribe is out and a second joins it: both are told they
   * failed (the command's timeout), and once Redis answers again a new subscribe to the channel
   * works and receives, while the failed ones never do. Before, the second stayed in a failed
   * channel state that every later subscribe joined and failed at once, for good.
   */
  @Test
  void aFailedFirstSubscribe_failsThoseThatJoinedIt_andTheNextStartsAfresh(@TempDir Path dir)
      throws Exception {
    try (PrivateRedis redis = PrivateRedis.single(dir, null, null);
        RedisBackend subscriber =
            RedisBackend.connect(
                new StoreConfig.RedisConfig(
                    "redis://127.0.0.1:" + redis.ports().get(0), "st:", Duration.ofMillis(500)));
        RedisBackend publisher =
            RedisBackend.connect(
                StoreConfig.RedisConfig.redis("redis://127.0.0.1:" + redis.ports().get(0))
                    .withKeyPrefix("st:"))) {
      PresenceBus here = new RedisPresenceBus(subscriber);
      PresenceBus there = new RedisPresenceBus(publisher);
      List<String> failedGot = new CopyOnWriteArrayList<>();
      int port = redis.ports().get(0);
      redis.signal(port, "STOP");
      CompletableFuture<PresenceBus.Subscription> first;
      CompletableFuture<PresenceBus.Subscription> joined;
      try {
        first = here.subscribe("stall", (c, m) -> failedGot.add("first")).toCompletableFuture();
        joined = here.subscribe("stall", (c, m) -> failedGot.add("joined")).toCompletableFuture();
        await().atMost(Duration.ofSeconds(5)).until(() -> first.isDone() && joined.isDone());
      } finally {
        redis.signal(port, "CONT");
      }
      assertThat(first).isCompletedExceptionally();
      assertThat(joined).isCompletedExceptionally();

      List<String> got = new CopyOnWriteArrayList<>();
      here.subscribe("stall", (c, m) -> got.add(new String(m, StandardCharsets.UTF_8)))
          .toCompletableFuture()
          .get(5, TimeUnit.SECONDS);
      RedisPresenceBusIT.publishUntil(there, "stall", "again", () -> got.contains("again"));
      assertThat(failedGot).isEmpty();
    }
  }
}
