package org.presence.store.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.EmbeddedPersistence;

/**
 * The queues on the embedded H2 file, including a crash: the database shut down without closing.
 */
class JdbiNotificationQueuesTest extends NotificationQueuesContract {
  @TempDir Path dataDir;
  private EmbeddedPersistence db;
  private long maxQueuedPerApp = NotificationQueues.DEFAULT_MAX_QUEUED_PER_APP;

  @Override
  protected NotificationQueues open() {
    db = EmbeddedPersistence.open(StoreConfig.embedded(dataDir));
    return new JdbiNotificationQueues(db.db(), maxQueuedPerApp);
  }

  @Override
  protected void close() {
    db.close();
  }

  @Override
  protected NotificationQueues reopenCapped(long maxQueuedPerApp) {
    close();
    this.maxQueuedPerApp = maxQueuedPerApp;
    return open();
  }

  /**
   * A backlog of expired answer claims (a node stopped for a day) goes in statements of at most
   * PURGE_BATCH rows, and the purge still takes it all; live claims stay.
   */
  @org.junit.jupiter.api.Test
  void purgeAnswers_takesABacklogInBoundedStatements_andKeepsLiveClaims() {
    java.time.Instant now = java.time.Instant.now();
    int expired = JdbiNotificationQueues.PURGE_BATCH * 2 + 500;
    db.db()
        .jdbi()
        .useHandle(
            h -> {
              var batch =
                  h.prepareBatch(
                      "INSERT INTO notification_answers (id, expires_at) VALUES (:id, :e)");
              for (int i = 0; i < expired + 10; i++) {
                batch
                    .bind("id", "backlog-" + i)
                    .bind(
                        "e",
                        org.presence.store.jdbi.Timestamps.bind(
                            i < expired ? now.minusSeconds(86_400 - i) : now.plusSeconds(600)))
                    .add();
              }
              batch.execute();
            });
    // One statement takes one batch, the oldest first.
    int first =
        db.db()
            .jdbi()
            .withHandle(
                h ->
                    h.createUpdate(JdbiNotificationQueues.PURGE_ANSWERS)
                        .bind("now", org.presence.store.jdbi.Timestamps.bind(now))
                        .bind("n", JdbiNotificationQueues.PURGE_BATCH)
                        .execute());
    assertThat(first).isEqualTo(JdbiNotificationQueues.PURGE_BATCH);
    assertThat(
            org.presence.store.testing.Sql.count(
                db.db(), "notification_answers", "id = 'backlog-0'"))
        .as("the oldest went first")
        .isZero();
    assertThat(await(queues.purgeAnswers(now))).isEqualTo(expired - first);
    assertThat(org.presence.store.testing.Sql.count(db.db(), "notification_answers", "1 = 1"))
        .isEqualTo(10);
  }

  @org.junit.jupiter.api.Test
  void crash_afterTheAck_keepsTheItem() {
    String u = "crash-" + java.util.UUID.randomUUID();
    Notification n = note(21, "survives a crash");
    await(queues.enqueue(u, n));
    // SHUTDOWN IMMEDIATELY stops the database as a killed process would: no checkpoint, no clean
    // close of the file; only what each commit wrote is there when it is opened again.
    try {
      db.db().jdbi().useHandle(h -> h.execute("SHUTDOWN IMMEDIATELY"));
    } catch (RuntimeException expected) {
      // The connection dies with the database.
    }
    close();
    queues = open();
    org.assertj.core.api.Assertions.assertThat(await(queues.pending(u))).containsExactly(n);
  }
}
