package org.presence.store.permission;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.StatementContext;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.jdbi.Db;
import org.presence.store.jdbi.Timestamps;

/** {@link GrantRepository} over Jdbi; portable SQL for PostgreSQL and the embedded H2. */
public final class JdbiGrantRepository implements GrantRepository {
  private static final String COLUMNS =
      "puid, user_sub, app_id, user_string, enabled, created_at, updated_at";

  /**
   * Times a grant makes its user's lock row again when the retention sweep deleted it before the
   * grant could lock it (the sweep deletes it only while the user holds no grant).
   */
  private static final int MAX_OWNER_ATTEMPTS = 10;

  /**
   * One page of an application's enabled grants ({@link #listEnabledByApp}: snapshots, stats, the
   * XMPP roster), after a PUID, in PUID order. The page size is in the SQL and the order names both
   * columns of {@code grants_app_puid (app_id, puid)} (migration {@code V5_1}), so that both
   * engines read the page off that index from {@code :after} on and stop after {@code :n} rows,
   * skipping paused grants ({@code enabled} false; revoked ones have no row). With the size given
   * to JDBC instead ({@code setMaxRows}) the planner never saw it: PostgreSQL could sort all the
   * application's remaining grants for each page, and H2, for which {@code ORDER BY puid} alone is
   * not in the index's order, read all of them.
   */
  static final String ENABLED_BY_APP_PAGE =
      "SELECT "
          + COLUMNS
          + " FROM grants WHERE app_id = :a AND enabled = TRUE AND puid > :after"
          + " ORDER BY app_id, puid LIMIT :n";

  /** PUIDs per IN list, so that a statement stays small whatever the batch. */
  private static final int LOOKUP_CHUNK = 500;

  private final Db db;

  public JdbiGrantRepository(Db db) {
    this.db = db;
  }

  @Override
  public CompletionStage<Grant> grant(
      String userSub, long appId, String userString, Limits limits) {
    return db.call(h -> grantIn(h, userSub, appId, userString, limits));
  }

  private Grant grantIn(Handle h, String userSub, long appId, String userString, Limits limits) {
    Optional<Grant> existing = findTriple(h, userSub, appId, userString);
    if (existing.isPresent()) {
      return existing.get();
    }
    // The retention sweep deletes the lock row of a user without grants; one it deleted after
    // ensureOwner is made again inside the grant's transaction, where the sweep cannot see it
    // before the grant exists. Two grants of one user making it at once: one retries.
    for (int attempt = 1; ; attempt++) {
      ensureOwner(h, userSub);
      try {
        return grantLocked(h, userSub, appId, userString, limits);
      } catch (RuntimeException e) {
        if (!Db.isUniqueViolation(e) || attempt == MAX_OWNER_ATTEMPTS) {
          throw e;
        }
      }
    }
  }

  /** The grant, made under the user's lock row (made again here when the sweep deleted it). */
  private static Grant grantLocked(
      Handle h, String userSub, long appId, String userString, Limits limits) {
    return h.inTransaction(
        t -> {
          // The user's grants are made one at a time (on every node): the caps below hold.
          if (t.createQuery("SELECT user_sub FROM grant_owners WHERE user_sub = :u FOR UPDATE")
              .bind("u", userSub)
              .mapTo(String.class)
              .findOne()
              .isEmpty()) {
            t.createUpdate("INSERT INTO grant_owners (user_sub) VALUES (:u)")
                .bind("u", userSub)
                .execute();
          }
          Optional<Grant> raced = findTriple(t, userSub, appId, userString);
          if (raced.isPresent()) {
            return raced.get();
          }
          long[] counts =
              t.createQuery(
                      "SELECT COUNT(*),"
                          + " COALESCE(SUM(CASE WHEN app_id = :a THEN 1 ELSE 0 END), 0)"
                          + " FROM grants WHERE user_sub = :u")
                  .bind("u", userSub)
                  .bind("a", appId)
                  .map((rs, ctx) -> new long[] {rs.getLong(1), rs.getLong(2)})
                  .one();
          long total = counts[0];
          long forApp = counts[1];
          if (forApp >= limits.perApp()) {
            throw new ProtocolException(
                ErrorCode.TOO_MANY_GRANTS,
                "at most " + limits.perApp() + " for one application; revoke one first");
          }
          if (total >= limits.perUser()) {
            throw new ProtocolException(
                ErrorCode.TOO_MANY_GRANTS,
                "at most " + limits.perUser() + " in all; revoke one first");
          }
          Instant now = Timestamps.now();
          t.createUpdate(
                  "INSERT INTO grants (puid, user_sub, app_id, user_string, enabled, created_at,"
                      + " updated_at) VALUES (:puid, :user, :app, :str, TRUE, :now, :now)")
              .bind("puid", Puids.generate())
              .bind("user", userSub)
              .bind("app", appId)
              .bind("str", userString)
              .bind("now", Timestamps.bind(now))
              .execute();
          return findTriple(t, userSub, appId, userString).orElseThrow();
        });
  }

  /** Makes the user's row in {@code grant_owners}, which serialises their grants, if missing. */
  private static void ensureOwner(Handle h, String userSub) {
    boolean present =
        h.createQuery("SELECT COUNT(*) FROM grant_owners WHERE user_sub = :u")
                .bind("u", userSub)
                .mapTo(Long.class)
                .one()
            > 0;
    if (present) {
      return;
    }
    try {
      h.createUpdate("INSERT INTO grant_owners (user_sub) VALUES (:u)")
          .bind("u", userSub)
          .execute();
    } catch (RuntimeException e) {
      if (!Db.isUniqueViolation(e)) {
        throw e;
      }
      // A concurrent first grant of the same user made the row.
    }
  }

  @Override
  public CompletionStage<Optional<Grant>> findByPuid(String puid) {
    return db.call(h -> findPuid(h, puid));
  }

  @Override
  public CompletionStage<PuidState> puidState(long appId, String puid) {
    return db.call(
        h -> {
          Optional<Grant> g = findPuid(h, puid);
          if (g.isPresent() && g.get().appId() == appId) {
            return g.get().enabled() ? PuidState.ACTIVE : PuidState.PAUSED;
          }
          boolean revoked =
              h.createQuery("SELECT COUNT(*) FROM revoked_puids WHERE puid = :p AND app_id = :a")
                      .bind("p", puid)
                      .bind("a", appId)
                      .mapTo(Long.class)
                      .one()
                  > 0;
          return revoked ? PuidState.REVOKED : PuidState.UNKNOWN;
        });
  }

  @Override
  public CompletionStage<Map<String, PuidRecord>> lookup(Collection<String> puids) {
    List<String> all = List.copyOf(new LinkedHashSet<>(puids));
    if (all.isEmpty()) {
      return CompletableFuture.completedFuture(Map.of());
    }
    return db.call(
        h -> {
          Map<String, PuidRecord> out = new HashMap<>();
          for (int from = 0; from < all.size(); from += LOOKUP_CHUNK) {
            List<String> chunk = all.subList(from, Math.min(all.size(), from + LOOKUP_CHUNK));
            h.createQuery(
                    "SELECT puid, user_sub, app_id, enabled, updated_at FROM grants WHERE puid IN (<p>)")
                .bindList("p", chunk)
                .map(
                    (rs, ctx) ->
                        new PuidRecord(
                            rs.getString("puid"),
                            rs.getLong("app_id"),
                            rs.getString("user_sub"),
                            rs.getBoolean("enabled") ? PuidState.ACTIVE : PuidState.PAUSED,
                            Timestamps.read(rs, "updated_at")))
                .forEach(r -> out.put(r.puid(), r));
            List<String> missing = new ArrayList<>();
            for (String p : chunk) {
              if (!out.containsKey(p)) {
                missing.add(p);
              }
            }
            if (!missing.isEmpty()) {
              h.createQuery("SELECT puid, app_id FROM revoked_puids WHERE puid IN (<p>)")
                  .bindList("p", missing)
                  .map(
                      (rs, ctx) ->
                          new PuidRecord(
                              rs.getString("puid"),
                              rs.getLong("app_id"),
                              null,
                              PuidState.REVOKED,
                              null))
                  .forEach(r -> out.put(r.puid(), r));
            }
          }
          return out;
        });
  }

  @Override
  public CompletionStage<List<Grant>> listByUser(String userSub) {
    return db.call(
        h ->
            h.createQuery(
                    "SELECT "
                        + COLUMNS
                        + " FROM grants WHERE user_sub = :u"
                        + " ORDER BY app_id, user_string")
                .bind("u", userSub)
                .map(JdbiGrantRepository::map)
                .list());
  }

  @Override
  public CompletionStage<List<Grant>> listEnabledByApp(long appId, String afterPuid, int limit) {
    return db.call(
        h ->
            h.createQuery(ENABLED_BY_APP_PAGE)
                .bind("a", appId)
                .bind("after", afterPuid)
                .bind("n", limit)
                .map(JdbiGrantRepository::map)
                .list());
  }

  @Override
  public CompletionStage<Optional<Grant>> setEnabled(String userSub, String puid, boolean enabled) {
    return db.inTransaction(
        h -> {
          int n =
              h.createUpdate(
                      "UPDATE grants SET enabled = :e, updated_at = :now"
                          + " WHERE puid = :p AND user_sub = :u")
                  .bind("e", enabled)
                  .bind("now", Timestamps.bind(Timestamps.now()))
                  .bind("p", puid)
                  .bind("u", userSub)
                  .execute();
          return n == 0 ? Optional.<Grant>empty() : findPuid(h, puid);
        });
  }

  @Override
  public CompletionStage<Optional<Grant>> revoke(String userSub, String puid) {
    return db.inTransaction(
        h -> {
          Optional<Grant> g = findPuid(h, puid).filter(x -> x.userSub().equals(userSub));
          if (g.isEmpty()) {
            return g;
          }
          h.createUpdate(
                  "INSERT INTO revoked_puids (puid, app_id, revoked_at) VALUES (:p, :a, :now)")
              .bind("p", puid)
              .bind("a", g.get().appId())
              .bind("now", Timestamps.bind(Timestamps.now()))
              .execute();
          h.createUpdate("DELETE FROM grants WHERE puid = :p").bind("p", puid).execute();
          return g;
        });
  }

  @Override
  public CompletionStage<Integer> purgeRevoked(Instant before, int limit) {
    return db.call(
        h ->
            h.createUpdate(
                    "DELETE FROM revoked_puids WHERE puid IN (SELECT puid FROM revoked_puids"
                        + " WHERE revoked_at < :before ORDER BY revoked_at LIMIT :n)")
                .bind("before", Timestamps.bind(before))
                .bind("n", limit)
                .execute());
  }

  private static Optional<Grant> findPuid(Handle h, String puid) {
    return h.createQuery("SELECT " + COLUMNS + " FROM grants WHERE puid = :p")
        .bind("p", puid)
        .map(JdbiGrantRepository::map)
        .findOne();
  }

  private static Optional<Grant> findTriple(Handle h, String userSub, long appId, String str) {
    return h.createQuery(
            "SELECT "
                + COLUMNS
                + " FROM grants"
                + " WHERE user_sub = :u AND app_id = :a AND user_string = :s")
        .bind("u", userSub)
        .bind("a", appId)
        .bind("s", str)
        .map(JdbiGrantRepository::map)
        .findOne();
  }

  private static Grant map(ResultSet rs, StatementContext ctx) throws SQLException {
    return new Grant(
        rs.getString("puid"),
        rs.getString("user_sub"),
        rs.getLong("app_id"),
        rs.getString("user_string"),
        rs.getBoolean("enabled"),
        Timestamps.read(rs, "created_at"),
        Timestamps.read(rs, "updated_at"));
  }
}
