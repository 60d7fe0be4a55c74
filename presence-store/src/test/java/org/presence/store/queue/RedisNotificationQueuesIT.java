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

  @Override
  protected boolean expiresByItself() {
    return true;
  }

  private long pttl(String key) {
    return backend.commands().sync().pttl(key);
  }

  @Test
  void queues_expireAtTheRetention_setAgainAtEveryPush_keptByReadsAndRemovals() {
    String u = "idle-" + System.nanoTime();
    String q = backend.keys().user("nq", UserKeys.of(u)) + ":41";
    String set = backend.keys().user("nqa", UserKeys.of(u));
    long retention = StoreConfig.DEFAULT_QUEUE_RETENTION.toMillis();
    List<Notification> items = new java.util.ArrayList<>();
    for (int i = 0; i < 4; i++) {
      items.add(note(41, "m" + i));
    }
    for (Notification n : items) {
      await(queues.enqueue(u, n));
    }
    assertThat(pttl(q)).isBetween(retention - 60_000, retention);
    assertThat(pttl(set)).isBetween(retention - 60_000, retention);
    // A shorter expiry, as if pushed long ago; a read and removals keep it, a push sets it again.
    backend.commands().sync().pexpire(q, 100_000);
    backend.commands().sync().pexpire(set, 100_000);
    await(queues.pending(u));
    // Two items apart: the queue is rewritten (DEL and RPUSH), its expiry kept.
    await(queues.remove(u, java.util.Map.of(41L, List.of(items.get(1).id(), items.get(3).id()))));
    assertThat(pttl(q)).isBetween(1L, 100_000L);
    await(queues.remove(u, java.util.Map.of(41L, List.of(items.get(0).id()))));
    assertThat(pttl(q)).isBetween(1L, 100_000L);
    assertThat(pttl(set)).isBetween(1L, 100_000L);
    await(queues.enqueueAll(List.of(new NotificationQueues.Entry(u, note(41, "again")))));
    assertThat(pttl(q)).isGreaterThan(retention - 60_000);
    assertThat(pttl(set)).isGreaterThan(retention - 60_000);
    assertThat(await(queues.expireIdle(java.time.Instant.now().plusSeconds(1), 100))).isZero();
  }

  @Test
  void queues_ofAUserWhoNeverComesBack_areGoneAfterTheRetention() throws Exception {
    RedisBackend other = RedisBackend.connect(redisConfig(prefix));
    try {
      NotificationQueues shortLived =
          new RedisNotificationQueues(other, java.time.Duration.ofMillis(300));
      String u = "gone-" + System.nanoTime();
      await(shortLived.enqueue(u, note(42, "x")));
      await(shortLived.enqueue(u, note(43, "y")));
      assertThat(await(shortLived.withItems(List.of(u)))).containsExactly(u);
      Thread.sleep(600);
      assertThat(await(shortLived.pending(u))).isEmpty();
      assertThat(await(shortLived.withItems(List.of(u)))).isEmpty();
      assertThat(other.commands().sync().keys(prefix + "*"))
          .noneMatch(k -> k.contains(UserKeys.of(u)));
    } finally {
      other.close();
    }
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
