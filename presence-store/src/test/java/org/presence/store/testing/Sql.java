package org.presence.store.testing;

import java.sql.Types;
import java.time.Instant;
import java.util.Map;
import org.jdbi.v3.core.statement.SqlStatements;
import org.presence.store.jdbi.Db;
import org.presence.store.jdbi.Timestamps;

/**
 * Plain SQL against a store's database, for tests that put rows in place the APIs would take days
 * to make (expired sessions, old revocations) and count what a sweep left.
 */
public final class Sql {
  private Sql() {}

  /**
   * Runs {@code statement} with its {@code ?} bound in order: an {@link Instant} as the store binds
   * times, {@code null} as a time with time zone (the only kind of column the tests leave null).
   */
  public static void update(Db db, String statement, Object... args) {
    db.jdbi()
        .useHandle(
            h -> {
              var u = h.createUpdate(statement);
              for (int i = 0; i < args.length; i++) {
                if (args[i] == null) {
                  u.bindNull(i, Types.TIMESTAMP_WITH_TIMEZONE);
                } else {
                  u.bind(i, args[i] instanceof Instant t ? Timestamps.bind(t) : args[i]);
                }
              }
              u.execute();
            });
  }

  /** How many rows of {@code table} match {@code where} (SQL written by the test, not bound). */
  public static long count(Db db, String table, String where) {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery("SELECT COUNT(*) FROM " + table + " WHERE " + where)
                    .mapTo(Long.class)
                    .one());
  }

  /**
   * The plan {@code explain} (EXPLAIN with its options) gives {@code sql} with {@code binds}, as
   * one text; {@code setup} (a session setting, or null) runs first on the same connection.
   */
  public static String plan(Db db, String setup, String explain, String sql, Map<String, ?> binds) {
    return db.jdbi()
        .withHandle(
            h -> {
              // The statement's binds, whatever it uses of them.
              h.getConfig(SqlStatements.class).setUnusedBindingAllowed(true);
              if (setup != null) {
                h.execute(setup);
              }
              var q = h.createQuery(explain + " " + sql);
              binds.forEach(q::bind);
              return String.join("\n", q.mapTo(String.class).list());
            });
  }
}
