package org.presence.gateway.notify;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.StoreConfig;
import org.presence.store.db.EmbeddedPersistence;
import org.presence.store.queue.JdbiNotificationQueues;
import org.presence.store.queue.Notification;
import org.presence.store.queue.NotificationQueues;

/** Removal of delivered items, many users per store call, over the embedded queues. */
class RemoverTest {
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
        UUID.randomUUID().toString(), app, "p", "A", "m", "https://x.example", now,
        now.plusSeconds(60), false);
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
}
