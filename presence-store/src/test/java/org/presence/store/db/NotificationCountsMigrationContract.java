package org.presence.store.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.presence.store.jdbi.Timestamps;
import org.presence.store.queue.JdbiNotificationQueues;
import org.presence.store.queue.Notification;
import org.presence.store.queue.NotificationQueues;
import org.presence.store.queue.UserKeys;

/**
 * Migration {@code V35_1} on a database that already has notifications queued: it counts them per
 * application, so the limit of what an application may have queued holds from the first batch after
 * the upgrade. Runs on H2 ({@code NotificationCountsMigrationTest}) and PostgreSQL ({@code
 * PostgresNotificationCountsMigrationIT}).
 */
abstract class NotificationCountsMigrationContract {
  /** Flyway over an empty database (or schema), as the store configures it. */
  protected abstract FluentConfiguration flyway();

  /** {@code table} as a statement on a plain connection to that database names it. */
  protected abstract String table(String name);

  /** Opens the store's persistence over the same database, which migrates it to the latest. */
  protected abstract Persistence open();

  private static final Instant AT = Instant.now().truncatedTo(ChronoUnit.MILLIS);

  private void queued(Jdbi jdbi, String user, long app, int items) {
    String key = UserKeys.of(user);
    jdbi.useHandle(
        h -> {
          h.createUpdate(
                  "INSERT INTO "
                      + table("notification_queues")
                      + " (user_key, app_id, next_seq, pushed_at) VALUES (:u, :a, 1, :at)")
              .bind("u", key)
              .bind("a", app)
              .bind("at", Timestamps.bind(AT))
              .execute();
          for (int i = 1; i <= items; i++) {
            h.createUpdate(
                    "INSERT INTO "
                        + table("notifications")
                        + " (user_key, app_id, seq, id, puid, source, message, action,"
                        + " created_at, expires_at, receipts) VALUES (:u, :a, :seq, :id, 'p',"
                        + " 'App', :m, 'https://app.example/', :at, :exp, false)")
                .bind("u", key)
                .bind("a", app)
                .bind("seq", i)
                .bind("id", "before-" + app + "-" + key.substring(0, 8) + "-" + i)
                .bind("m", "before " + i)
                .bind("at", Timestamps.bind(AT))
                .bind("exp", Timestamps.bind(AT.plusSeconds(60)))
                .execute();
          }
        });
  }

  private static <T> T await(java.util.concurrent.CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static Notification note(long app, String message) {
    return new Notification(
        java.util.UUID.randomUUID().toString().replace("-", ""),
        app,
        "p",
        "App",
        message,
        "https://app.example/",
        AT,
        AT.plusSeconds(60),
        false);
  }

  @Test
  void migration_countsWhatIsAlreadyQueued_andTheLimitHoldsFromTheFirstBatch() {
    FluentConfiguration before = flyway().target("33.2");
    before.load().migrate();
    Jdbi jdbi = Jdbi.create(before.getDataSource());
    // App 41: three items for ann, two for bob; app 42: one for ann; app 43: an emptied queue.
    queued(jdbi, "ann", 41, 3);
    queued(jdbi, "bob", 41, 2);
    queued(jdbi, "ann", 42, 1);
    queued(jdbi, "ann", 43, 0);

    try (Persistence p = open()) {
      Map<Long, Long> counts = new TreeMap<>();
      p.db()
          .jdbi()
          .useHandle(
              h ->
                  h.createQuery("SELECT app_id, queued FROM notification_app_counts")
                      .map((rs, ctx) -> Map.entry(rs.getLong(1), rs.getLong(2)))
                      .forEach(e -> counts.put(e.getKey(), e.getValue())));
      assertThat(counts).isEqualTo(Map.of(41L, 5L, 42L, 1L));

      // With a limit of 6: app 41 has room for one more, app 42 for five, app 43 for six.
      NotificationQueues queues = new JdbiNotificationQueues(p.db(), 6);
      List<NotificationQueues.Entry> batch =
          List.of(
              new NotificationQueues.Entry("carl", note(41, "fits")),
              new NotificationQueues.Entry("carl", note(41, "beyond")),
              new NotificationQueues.Entry("carl", note(42, "other app")));
      assertThat(await(queues.enqueueAll(batch)))
          .extracting(NotificationQueues.Enqueued::stored)
          .containsExactly(true, false, true);
      // A delivery of an item queued before the upgrade gives its room back.
      Notification old = await(queues.pending("ann")).get(0);
      assertThat(old.appId()).isEqualTo(41);
      assertThat(await(queues.remove("ann", Map.of(41L, List.of(old.id()))))).hasSize(1);
      assertThat(await(queues.enqueue("carl", note(41, "after a delivery"))).stored()).isTrue();
      assertThat(await(queues.enqueue("carl", note(41, "beyond again"))).stored()).isFalse();
    }
  }
}
