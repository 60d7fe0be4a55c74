package org.presence.store.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;

class RedisNotificationQueuesIT extends NotificationQueuesContract {
  /**
   * The Redis settings: one Redis here, a Redis Cluster in {@link
   * RedisNotificationQueuesClusterIT}.
   */
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redis(keyPrefix);
  }

  private static String prefix;
  RedisBackend backend;

  @BeforeAll
  static void pickPrefix() {
    Backends.redisUrl();
    prefix = Backends.uniquePrefix(RedisNotificationQueuesIT.class);
  }

  @Override
  protected NotificationQueues open() {
    backend = RedisBackend.connect(redisConfig(prefix));
    return new RedisNotificationQueues(backend);
  }

  @Override
  protected void close() {
    backend.close();
  }

  @Test
  void scripts_reloadAfterAScriptFlush() {
    String u = "flushed-" + System.nanoTime();
    await(queues.enqueue(u, note(21, "before")));
    backend.commands().sync().scriptFlush();
    await(queues.enqueue(u, note(21, "after")));
    assertThat(await(queues.pending(u)))
        .extracting(Notification::message)
        .containsExactly("before", "after");
  }

  @Test
  void keys_doNotContainTheUserIdentity() {
    String u = "alice-identity-" + System.nanoTime();
    await(queues.enqueue(u, note(22, "x")));
    List<String> keys = backend.commands().sync().keys(prefix + "*");
    assertThat(keys).isNotEmpty().noneMatch(k -> k.contains("alice-identity"));
  }
}
