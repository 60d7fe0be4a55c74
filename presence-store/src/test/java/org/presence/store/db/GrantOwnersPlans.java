package org.presence.store.db;

import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.presence.store.app.NewApplication;
import org.presence.store.jdbi.Timestamps;
import org.presence.store.testing.Sql;

/**
 * What {@code GrantOwnersPlanTest} (H2) and {@code GrantOwnersPlanIT} (PostgreSQL) share: a table
 * of grant lock rows whose users nearly all hold a grant, and the plan of {@link
 * SignInRetention#GRANT_OWNERS_PAGE}, the statement each batch of the purge starts with.
 */
final class GrantOwnersPlans {
  /** Users with a lock row; all but the last {@link #WITHOUT} hold a grant. */
  static final int OWNERS = 5000;

  /** Users at the end of the table who hold no grant. */
  static final int WITHOUT = 100;

  /** The batch the plan is asked for. */
  static final int BATCH = 100;

  /** Where the batch starts: half-way through the table. */
  static final String AFTER = user(OWNERS / 2);

  private GrantOwnersPlans() {}

  static String user(int i) {
    return String.format(Locale.ROOT, "owner-%08d", i);
  }

  static void fill(Persistence persistence) throws Exception {
    long app =
        persistence
            .apps()
            .create(
                new NewApplication(
                    "Owners", "owners.example.com", "about", "dev", "dev@example.com", "k"))
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS)
            .id();
    Object now = Timestamps.bind(Instant.now());
    persistence
        .db()
        .jdbi()
        .useHandle(
            h -> {
              PreparedBatch owners = h.prepareBatch("INSERT INTO grant_owners VALUES (:u)");
              PreparedBatch grants =
                  h.prepareBatch(
                      "INSERT INTO grants (puid, user_sub, app_id, user_string, enabled,"
                          + " created_at, updated_at) VALUES (:p, :u, :a, 'x', TRUE, :now, :now)");
              for (int i = 0; i < OWNERS; i++) {
                owners.bind("u", user(i)).add();
                if (i < OWNERS - WITHOUT) {
                  grants
                      .bind("p", "puid-" + i)
                      .bind("u", user(i))
                      .bind("a", app)
                      .bind("now", now)
                      .add();
                }
              }
              owners.execute();
              grants.execute();
              h.execute("ANALYZE");
            });
  }

  /**
   * The plan {@code explain} (EXPLAIN, with options) gives the page statement, as one text; {@code
   * setup} (or null) runs first on the same connection.
   */
  static String plan(Persistence persistence, String setup, String explain) {
    return Sql.plan(
        persistence.db(),
        setup,
        explain,
        SignInRetention.GRANT_OWNERS_PAGE,
        Map.of("after", AFTER, "n", BATCH));
  }
}
