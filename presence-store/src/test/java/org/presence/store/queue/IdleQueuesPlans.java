package org.presence.store.queue;

import java.time.Instant;
import java.util.Map;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.presence.store.jdbi.Db;
import org.presence.store.jdbi.Timestamps;
import org.presence.store.testing.Sql;

/**
 * What {@code IdleQueuesPlanTest} (H2) and {@code IdleQueuesPlanIT} (PostgreSQL) share: queues
 * pushed to over a year, most of them idle, and the plan of {@link
 * JdbiNotificationQueues#IDLE_QUEUES}, the statement a sweep batch runs.
 */
final class IdleQueuesPlans {
  /** Queues, one pushed to every hour going back from now. */
  static final int QUEUES = 5000;

  /** The batch the plan is asked for. */
  static final int BATCH = 100;

  /** The cutoff: all but the newest 500 queues are idle. */
  static final Instant BEFORE = Instant.now().minusSeconds(500 * 3600L);

  private IdleQueuesPlans() {}

  static void fill(Db db) {
    Instant now = Instant.now();
    db.jdbi()
        .useHandle(
            h -> {
              PreparedBatch batch =
                  h.prepareBatch(
                      "INSERT INTO notification_queues (user_key, app_id, next_seq, pushed_at)"
                          + " VALUES (:u, :a, 1, :at)");
              for (int i = 0; i < QUEUES; i++) {
                batch
                    .bind("u", "user-" + i)
                    .bind("a", 100 + i % 7)
                    .bind("at", Timestamps.bind(now.minusSeconds(3600L * i)))
                    .add();
              }
              batch.execute();
              h.execute("ANALYZE");
            });
  }

  /**
   * The plan {@code explain} (EXPLAIN, with options) gives the batch statement, as one text; {@code
   * setup} (or null) runs first on the same connection.
   */
  static String plan(Db db, String setup, String explain) {
    return Sql.plan(
        db,
        setup,
        explain,
        JdbiNotificationQueues.IDLE_QUEUES,
        Map.of("before", Timestamps.bind(BEFORE), "n", BATCH));
  }
}
