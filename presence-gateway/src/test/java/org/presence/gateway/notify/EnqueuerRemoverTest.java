package org.presence.gateway.notify;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.EmbeddedPersistence;
import org.presence.store.queue.JdbiNotificationQueues;
import org.presence.store.queue.Notification;
import org.presence.store.queue.NotificationQueues;

/**
 * The two batched store calls of live notifications over the embedded queues: several batches
 * stored per call ({@link Enqueuer}), delivered items of many users removed per call ({@link
 * Remover}).
 */
class EnqueuerRemoverTest {
  @TempDir Path dir;
  private EmbeddedPersistence db;
  private NotificationQueues queues;

  @BeforeEach
  void open() {
    db = EmbeddedPersistence.open(StoreConfig.embedded(dir));
    queues = new JdbiNotificationQueues(db.db());
  }

  @AfterEach
  void close() {
    db.close();
  }

  private static Notification note(long app) {
    Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
    return new Notification(
        UUID.randomUUID().toString(),
        app,
        "p",
        "A",
        "m",
        "https://x.example",
        now,
        now.plusSeconds(60),
        false);
  }

  private static <T> T done(java.util.concurrent.CompletionStage<T> s) throws Exception {
    return s.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  @Test
  void remove_manyUsersAtOnce_eachGetsWhatItAskedFor_andAnItemGoesToOneRequestOnly()
      throws Exception {
    Remover remover = new Remover(queues, 5, 1);
    List<String> users = new ArrayList<>();
    List<List<Notification>> items = new ArrayList<>();
    for (int u = 0; u < 20; u++) {
      String user = "user-" + u;
      users.add(user);
      List<Notification> mine = List.of(note(1), note(2));
      items.add(mine);
      for (Notification n : mine) {
        done(queues.enqueue(user, n));
      }
    }
    List<CompletableFuture<List<Notification>>> calls = new ArrayList<>();
    for (int u = 0; u < 20; u++) {
      calls.add(remover.remove(users.get(u), items.get(u)).toCompletableFuture());
    }
    // Two sessions of user 0 wrote the same items: only one request gets them.
    CompletableFuture<List<Notification>> twice =
        remover.remove(users.get(0), items.get(0)).toCompletableFuture();
    for (int u = 0; u < 20; u++) {
      assertThat(calls.get(u).get(20, TimeUnit.SECONDS))
          .as("user %d", u)
          .containsExactlyInAnyOrderElementsOf(items.get(u));
    }
    assertThat(twice.get(20, TimeUnit.SECONDS)).as("the second request of user 0").isEmpty();
    for (String user : users) {
      assertThat(done(queues.pending(user))).isEmpty();
    }
  }

  private static NotificationQueues.Entry entry(String user, long app) {
    Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    return new NotificationQueues.Entry(
        user,
        new Notification(
            UUID.randomUUID().toString(),
            app,
            "p",
            "A",
            "m",
            "https://x.example",
            now,
            now.plusSeconds(60),
            false));
  }

  @Test
  void enqueue_manyBatchesAtOnce_thenEachGetsItsOwnResultsInOrder_andEveryItemIsStored()
      throws Exception {
    Enqueuer enqueuer = new Enqueuer(queues, 7, 1);
    List<List<NotificationQueues.Entry>> batches = new ArrayList<>();
    List<CompletableFuture<List<NotificationQueues.Enqueued>>> calls = new ArrayList<>();
    for (int b = 0; b < 12; b++) {
      // Batch b holds b % 3 + 1 items, each for its own user, so queue sizes tell them apart:
      // user "u<b>-<i>" receives one item in batch b.
      List<NotificationQueues.Entry> batch = new ArrayList<>();
      for (int i = 0; i <= b % 3; i++) {
        batch.add(entry("u" + b + "-" + i, 1));
      }
      batches.add(batch);
      calls.add(enqueuer.enqueue(batch).toCompletableFuture());
    }
    // One more item for a user of batch 0 and the same app: that queue then holds two.
    List<NotificationQueues.Entry> again = List.of(entry("u0-0", 1));
    List<NotificationQueues.Enqueued> againResult =
        enqueuer.enqueue(again).toCompletableFuture().get(20, TimeUnit.SECONDS);
    for (int b = 0; b < batches.size(); b++) {
      List<NotificationQueues.Enqueued> results = calls.get(b).get(20, TimeUnit.SECONDS);
      assertThat(results).as("batch %d", b).hasSize(batches.get(b).size());
      assertThat(results).allMatch(r -> r.queueSize() == 1 && r.dropped().isEmpty());
    }
    assertThat(againResult).singleElement().matches(r -> r.queueSize() == 2);
    for (List<NotificationQueues.Entry> batch : batches) {
      for (NotificationQueues.Entry e : batch) {
        List<Notification> pending =
            queues.pending(e.userSub()).toCompletableFuture().get(20, TimeUnit.SECONDS);
        assertThat(pending).extracting(Notification::id).contains(e.notification().id());
      }
    }
  }
}
