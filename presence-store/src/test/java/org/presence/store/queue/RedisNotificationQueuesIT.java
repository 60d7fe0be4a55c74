package org.presence.store.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
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
  protected NotificationQueues reopenCapped(long maxQueuedPerApp) {
    close();
    backend = RedisBackend.connect(redisConfig(prefix));
    return new RedisNotificationQueues(
        backend, StoreConfig.DEFAULT_QUEUE_RETENTION, maxQueuedPerApp);
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

  /**
   * Items whose queue expired whole ({@code PEXPIRE}) are not given back one by one: their count
   * goes with its bucket once that is older than two retentions (here 600 ms, in buckets of 20 ms),
   * so an application whose users never connect is not refused for ever, as it would be with a
   * count only ever given back by removals; and not before the items are gone (g1 lives until 600
   * ms after g2's push). The application keeps posting meanwhile (an item admitted and delivered
   * again and again), so its count's key never expires whole: only the bucket's age frees the room.
   */
  @Test
  void perAppLimit_countOfQueuesThatExpiredWhole_goesWithItsBucket() {
    RedisBackend other = RedisBackend.connect(redisConfig(prefix));
    try {
      NotificationQueues shortLived =
          new RedisNotificationQueues(other, java.time.Duration.ofMillis(600), 3);
      long app = freshApp();
      String gone = "drift-" + System.nanoTime();
      String live = "live-" + System.nanoTime();
      // One bucket (one creation time): pushed one after the other, g1's queue is kept by g2's
      // push.
      java.time.Instant at = java.time.Instant.now();
      assertThat(await(shortLived.enqueue(gone, noteAt(app, "g1", at))).stored()).isTrue();
      assertThat(await(shortLived.enqueue(gone, noteAt(app, "g2", at))).stored()).isTrue();
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(30))
          .pollInterval(java.time.Duration.ofMillis(50))
          .until(
              () -> {
                // Two at once fit only once g1 and g2 no longer count.
                Notification x = noteNow(app, "x");
                boolean first = await(shortLived.enqueue(live, x)).stored();
                if (first && await(shortLived.enqueue(live, noteNow(app, "y"))).stored()) {
                  return true;
                }
                if (first) {
                  await(shortLived.remove(live, Map.of(app, List.of(x.id()))));
                }
                return false;
              });
      assertThat(await(shortLived.pending(gone))).isEmpty();
      // Counted from there: x and y, one more, then the limit holds.
      assertThat(await(shortLived.enqueue(live, noteNow(app, "z"))).stored()).isTrue();
      assertThat(await(shortLived.enqueue(live, noteNow(app, "over"))))
          .isEqualTo(NotificationQueues.Enqueued.APP_FULL);
      // y and z are queued; x too unless more than the retention passed since it went in (a slow
      // machine): z's push then dropped it from the head, without giving back its room.
      assertThat(await(shortLived.pending(live)))
          .extracting(Notification::message)
          .contains("y", "z")
          .hasSizeBetween(2, 3);
    } finally {
      other.close();
    }
  }

  /**
   * A push first drops from its queue's head the items older than the retention, which a queue
   * pushed to at least once a retention would otherwise keep for ever (past their bucket in the
   * application's count). They get no receipt and are not in the ack's dropped.
   */
  @Test
  void aPush_dropsItemsOlderThanTheRetention_fromItsQueuesHead() {
    String u = "old-" + System.nanoTime();
    java.time.Instant now = java.time.Instant.now();
    java.time.Duration retention = StoreConfig.DEFAULT_QUEUE_RETENTION;
    await(queues.enqueue(u, noteAt(61, "older", now.minus(retention).minusSeconds(60))));
    await(queues.enqueue(u, noteAt(61, "old", now.minus(retention).minusSeconds(1))));
    await(queues.enqueue(u, noteAt(61, "kept", now.minus(retention).plusSeconds(60))));
    // Each push dropped the older ones before it; the last finds "kept" within the retention.
    NotificationQueues.Enqueued last = await(queues.enqueue(u, noteAt(61, "new", now)));
    assertThat(last.dropped()).isEmpty();
    assertThat(last.queueSize()).isEqualTo(2);
    assertThat(await(queues.pending(u)))
        .extracting(Notification::message)
        .containsExactly("kept", "new");
  }

  private static Notification noteNow(long app, String message) {
    return noteAt(app, message, java.time.Instant.now());
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

  /**
   * Probe s33 F3: emoji were stored as {@code \\uXXXX} escapes (6.8 KB in Redis for a 2.6 KB item).
   * An emoji item is stored as raw UTF-8 and reads back exactly; an item queued before, in the
   * escaped form, still reads back the same.
   */
  @Test
  void emoji_areStoredAsRawUtf8_andItemsOfTheOldEscapedFormStillRead() {
    String u = "emoji-" + System.nanoTime();
    String q = backend.keys().user("nq", UserKeys.of(u)) + ":43";
    String emoji = "\uD83D\uDE00\uD83C\uDF89".repeat(256);
    Notification n = note(43, "x");
    Notification withEmoji =
        new Notification(
            n.id(),
            43,
            n.puid(),
            n.source(),
            emoji,
            n.action(),
            n.createdAt(),
            n.expiresAt(),
            false);
    await(queues.enqueue(u, withEmoji));
    List<byte[]> stored = backend.commands().sync().lrange(q, 0, -1);
    assertThat(stored).hasSize(1);
    assertThat(stored.get(0)).isEqualTo(NotificationCodec.encode(withEmoji));
    String text = new String(stored.get(0), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(text).contains(emoji).doesNotContain("\\u");
    // 512 emoji are 2,048 bytes of the element, not 6,144.
    assertThat(stored.get(0).length).isLessThan(2_048 + 300);

    // An item as the codec wrote it before: each surrogate escaped.
    Notification old = note(43, "y");
    StringBuilder escaped = new StringBuilder();
    for (char c : emoji.substring(0, 8).toCharArray()) {
      escaped.append(String.format("\\u%04x", (int) c));
    }
    String oldForm =
        new String(NotificationCodec.encode(old), java.nio.charset.StandardCharsets.UTF_8)
            .replace("\"m\":\"y\"", "\"m\":\"" + escaped + "\"");
    assertThat(oldForm).contains("\\ud83d\\ude00");
    backend.commands().sync().rpush(q, oldForm.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    Notification oldRead =
        new Notification(
            old.id(),
            43,
            old.puid(),
            old.source(),
            emoji.substring(0, 8),
            old.action(),
            old.createdAt(),
            old.expiresAt(),
            old.receipts());
    assertThat(await(queues.pending(u))).containsExactly(withEmoji, oldRead);
  }

  @Test
  void keys_doNotContainTheUserIdentity() {
    String u = "alice-identity-" + System.nanoTime();
    await(queues.enqueue(u, note(22, "x")));
    List<String> keys = backend.commands().sync().keys(prefix + "*");
    assertThat(keys).isNotEmpty().noneMatch(k -> k.contains("alice-identity"));
  }
}
