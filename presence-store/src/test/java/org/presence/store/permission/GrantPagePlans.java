package org.presence.store.permission;

import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.presence.store.app.NewApplication;
import org.presence.store.db.Persistence;
import org.presence.store.jdbi.Timestamps;
import org.presence.store.testing.Sql;

/**
 * What {@code GrantPagePlanTest} (H2) and {@code GrantPagePlanIT} (PostgreSQL) share: two
 * applications with enough grants for the planner's choice to matter, and the plan of {@link
 * JdbiGrantRepository#ENABLED_BY_APP_PAGE}, the statement the repository runs.
 */
final class GrantPagePlans {
  /** Grants of each application; one in five of the first one's is paused. */
  static final int PER_APP = 5000;

  /** The page size the plan is asked for (the snapshot's). */
  static final int PAGE = 100;

  private GrantPagePlans() {}

  /** Registers two applications, gives each {@link #PER_APP} grants; the first one's id. */
  static long fill(Persistence persistence) throws Exception {
    long app = register(persistence, "Paged");
    long other = register(persistence, "Other");
    Object now = Timestamps.bind(Instant.now());
    persistence
        .db()
        .jdbi()
        .useHandle(
            h -> {
              PreparedBatch batch =
                  h.prepareBatch(
                      "INSERT INTO grants (puid, user_sub, app_id, user_string, enabled,"
                          + " created_at, updated_at) VALUES (:p, :u, :a, 'x', :e, :now, :now)");
              for (int i = 0; i < PER_APP; i++) {
                // PUIDs of the two applications interleave, as random ones do.
                for (long a : new long[] {app, other}) {
                  batch
                      .bind("p", String.format(java.util.Locale.ROOT, "%08d-%d", i, a))
                      .bind("u", "user-" + i + "-" + a)
                      .bind("a", a)
                      .bind("e", a != app || i % 5 != 0)
                      .bind("now", now)
                      .add();
                }
              }
              batch.execute();
              h.execute("ANALYZE");
            });
    return app;
  }

  private static long register(Persistence persistence, String name) throws Exception {
    return persistence
        .apps()
        .create(
            new NewApplication(
                name,
                name.toLowerCase(java.util.Locale.ROOT) + ".example.com",
                "about " + name,
                "dev",
                "dev@example.com",
                "k".repeat(1024)))
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS)
        .id();
  }

  /**
   * The plan {@code explain} (EXPLAIN, with options) gives the page statement, as one text; {@code
   * setup} (or null) runs first on the same connection.
   */
  static String plan(
      Persistence persistence, String setup, String explain, long app, String after) {
    return Sql.plan(
        persistence.db(),
        setup,
        explain,
        JdbiGrantRepository.ENABLED_BY_APP_PAGE,
        Map.of("a", app, "after", after, "n", PAGE));
  }
}
