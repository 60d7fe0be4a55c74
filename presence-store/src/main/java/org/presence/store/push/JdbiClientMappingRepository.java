package org.presence.store.push;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.StatementContext;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.ApplicationIds;
import org.presence.store.error.StoreException;
import org.presence.store.jdbi.Db;
import org.presence.store.jdbi.Timestamps;

/**
 * {@link ClientMappingRepository} over Jdbi, in portable SQL (no upsert): a tie runs in one
 * transaction and is retried once when a concurrent tie won a unique key.
 */
public final class JdbiClientMappingRepository implements ClientMappingRepository {
  private static final String COLUMNS =
      "client_id, user_sub, device_id, application_ids, created_at, updated_at";

  private final Db db;

  public JdbiClientMappingRepository(Db db) {
    this.db = db;
  }

  @Override
  public CompletionStage<ClientMapping> tie(
      String presenceId, String userSub, String deviceId, ApplicationIds applicationIds) {
    String apps = applicationIds == null ? null : applicationIds.toCsv();
    return db.call(
        h -> {
          try {
            return h.inTransaction(t -> tieIn(t, presenceId, userSub, deviceId, apps));
          } catch (RuntimeException e) {
            if (!Db.isUniqueViolation(e)) {
              throw e;
            }
            // A concurrent tie of the same id or device committed first; decide again on its row.
            return h.inTransaction(t -> tieIn(t, presenceId, userSub, deviceId, apps));
          }
        });
  }

  private static ClientMapping tieIn(
      Handle h, String presenceId, String userSub, String deviceId, String apps) {
    Optional<ClientMapping> existing = findIn(h, presenceId);
    if (existing.isPresent() && !existing.get().userSub().equals(userSub)) {
      throw new StoreException(ErrorCode.PRESENCE_ID_TAKEN, null);
    }
    Instant now = Timestamps.now();
    h.createUpdate(
            "DELETE FROM client_mappings WHERE user_sub = :u AND device_id = :d"
                + " AND client_id <> :c")
        .bind("u", userSub)
        .bind("d", deviceId)
        .bind("c", presenceId)
        .execute();
    if (existing.isPresent()) {
      h.createUpdate(
              "UPDATE client_mappings SET device_id = :d, application_ids = :a, updated_at = :now"
                  + " WHERE client_id = :c")
          .bind("d", deviceId)
          .bind("a", apps)
          .bind("now", Timestamps.bind(now))
          .bind("c", presenceId)
          .execute();
    } else {
      h.createUpdate(
              "INSERT INTO client_mappings ("
                  + COLUMNS
                  + ")"
                  + " VALUES (:c, :u, :d, :a, :now, :now)")
          .bind("c", presenceId)
          .bind("u", userSub)
          .bind("d", deviceId)
          .bind("a", apps)
          .bind("now", Timestamps.bind(now))
          .execute();
    }
    return findIn(h, presenceId).orElseThrow();
  }

  @Override
  public CompletionStage<Optional<ClientMapping>> find(String presenceId) {
    return db.call(h -> findIn(h, presenceId));
  }

  @Override
  public CompletionStage<Void> touch(String presenceId, Instant now) {
    return db.call(
        h -> {
          h.createUpdate(
                  "UPDATE client_mappings SET updated_at = :now"
                      + " WHERE client_id = :c AND updated_at < :now")
              .bind("now", Timestamps.bind(now))
              .bind("c", presenceId)
              .execute();
          return null;
        });
  }

  @Override
  public CompletionStage<Integer> purgeUnused(Instant before, int limit) {
    // The outer condition is checked again on each row as it is deleted: a mapping tied or
    // touched after the inner select read it stays.
    return db.call(
        h ->
            h.createUpdate(
                    "DELETE FROM client_mappings WHERE updated_at < :before AND client_id IN"
                        + " (SELECT client_id FROM client_mappings WHERE updated_at < :before"
                        + " ORDER BY updated_at LIMIT :n)")
                .bind("before", Timestamps.bind(before))
                .bind("n", limit)
                .execute());
  }

  private static Optional<ClientMapping> findIn(Handle h, String presenceId) {
    return h.createQuery("SELECT " + COLUMNS + " FROM client_mappings WHERE client_id = :c")
        .bind("c", presenceId)
        .map(JdbiClientMappingRepository::map)
        .findOne();
  }

  private static ClientMapping map(ResultSet rs, StatementContext ctx) throws SQLException {
    String apps = rs.getString("application_ids");
    return new ClientMapping(
        rs.getString("client_id"),
        rs.getString("user_sub"),
        rs.getString("device_id"),
        apps == null ? null : ApplicationIds.fromCsv(apps),
        Timestamps.read(rs, "created_at"),
        Timestamps.read(rs, "updated_at"));
  }
}
