package org.presence.store.app;

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
import java.util.function.Consumer;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.StatementContext;
import org.jdbi.v3.core.statement.Update;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.error.StoreException;
import org.presence.store.jdbi.Db;
import org.presence.store.jdbi.Timestamps;

/** {@link AppRepository} over Jdbi; the same SQL runs on PostgreSQL and on the embedded H2. */
public final class JdbiAppRepository implements AppRepository {
  private static final String COLUMNS =
      "id, name, domain, description, owner_sub, owner_email, state, verification_key,"
          + " api_key_hash, webhook_url, webhook_secret, created_at, updated_at, suspended";

  private final Db db;

  public JdbiAppRepository(Db db) {
    this.db = db;
  }

  @Override
  public CompletionStage<Application> create(NewApplication app) {
    return createWithin(app, Integer.MAX_VALUE).thenApply(Optional::orElseThrow);
  }

  /** Runs of a registration's transaction before a lock wait given up is {@code SERVER_BUSY}. */
  static final int CREATE_ATTEMPTS = 3;

  @Override
  public CompletionStage<Optional<Application>> createWithin(NewApplication app, int maxPerOwner) {
    return db.call(
        h -> {
          for (int attempt = 1; ; attempt++) {
            ownerRow(h, app.ownerSub());
            try {
              return h.inTransaction(tx -> createLocked(tx, app, maxPerOwner));
            } catch (RuntimeException e) {
              // A lock wait given up (many registrations of one developer at once; H2 gives up
              // after 2 s), or a unique key another writer took first (the owner's row made again
              // after it was deleted; a register key from a node without the lock, during a
              // rolling upgrade): the transaction runs again, and then answers with what it found.
              boolean lockWait = Db.isLockTimeout(e);
              boolean taken = Db.isUniqueViolation(e);
              if ((lockWait || taken) && attempt < CREATE_ATTEMPTS) {
                continue;
              }
              if (lockWait) {
                throw new StoreException(
                    ErrorCode.SERVER_BUSY, "this developer's registrations are busy: try again", e);
              }
              if (taken && app.registerKey() != null) {
                Optional<Application> made = byRegisterKey(h, app.ownerSub(), app.registerKey());
                if (made.isPresent()) {
                  return made;
                }
              }
              throw e;
            }
          }
        });
  }

  /**
   * Makes the owner's lock row if it has none, in a statement of its own: a concurrent first
   * registration of the same owner fails it on the key, and both then lock the one row.
   */
  private static void ownerRow(Handle h, String ownerSub) {
    boolean exists =
        h.createQuery("SELECT 1 FROM app_owners WHERE owner_sub = :o")
            .bind("o", ownerSub)
            .mapTo(Integer.class)
            .findOne()
            .isPresent();
    if (exists) {
      return;
    }
    try {
      h.createUpdate("INSERT INTO app_owners (owner_sub) VALUES (:o)")
          .bind("o", ownerSub)
          .execute();
    } catch (RuntimeException e) {
      if (!Db.isUniqueViolation(e)) {
        throw e;
      }
    }
  }

  private static Optional<Application> createLocked(Handle h, NewApplication app, int maxPerOwner) {
    boolean locked =
        h.createQuery("SELECT owner_sub FROM app_owners WHERE owner_sub = :o FOR UPDATE")
            .bind("o", app.ownerSub())
            .mapTo(String.class)
            .findOne()
            .isPresent();
    if (!locked) {
      // Deleted since ownerRow made it (by hand, or a partial restore): made again in this
      // transaction, which holds it until it ends.
      h.createUpdate("INSERT INTO app_owners (owner_sub) VALUES (:o)")
          .bind("o", app.ownerSub())
          .execute();
    }
    if (app.registerKey() != null) {
      Optional<Application> made = byRegisterKey(h, app.ownerSub(), app.registerKey());
      if (made.isPresent()) {
        return made;
      }
    }
    if (maxPerOwner < Integer.MAX_VALUE) {
      int mine =
          h.createQuery("SELECT COUNT(*) FROM apps WHERE owner_sub = :o")
              .bind("o", app.ownerSub())
              .mapTo(Integer.class)
              .one();
      if (mine >= maxPerOwner) {
        return Optional.empty();
      }
    }
    Instant now = Timestamps.now();
    long id =
        h.createUpdate(
                "INSERT INTO apps (name, domain, description, owner_sub, owner_email,"
                    + " state, verification_key, register_key, created_at, updated_at)"
                    + " VALUES (:name, :domain, :description, :ownerSub, :ownerEmail,"
                    + " :state, :key, :registerKey, :now, :now)")
            .bind("name", app.name())
            .bind("domain", app.domain())
            .bind("description", app.description())
            .bind("ownerSub", app.ownerSub())
            .bind("ownerEmail", app.ownerEmail())
            .bind("state", AppState.REGISTERED.wireName())
            .bind("key", app.verificationKey())
            .bind("registerKey", app.registerKey())
            .bind("now", Timestamps.bind(now))
            .executeAndReturnGeneratedKeys("id")
            .mapTo(Long.class)
            .one();
    return findIn(h, id);
  }

  private static Optional<Application> byRegisterKey(Handle h, String ownerSub, String key) {
    return h.createQuery(
            "SELECT " + COLUMNS + " FROM apps WHERE owner_sub = :o AND register_key = :k")
        .bind("o", ownerSub)
        .bind("k", key)
        .map(JdbiAppRepository::map)
        .findOne();
  }

  @Override
  public CompletionStage<Optional<Application>> find(long id) {
    return db.call(h -> findIn(h, id));
  }

  @Override
  public CompletionStage<Map<Long, Application>> findAll(Collection<Long> ids) {
    if (ids.isEmpty()) {
      return CompletableFuture.completedFuture(Map.of());
    }
    List<Long> distinct = new ArrayList<>(new LinkedHashSet<>(ids));
    return db.call(
        h -> {
          Map<Long, Application> found = new HashMap<>();
          for (int from = 0; from < distinct.size(); from += FIND_ALL_SLICE) {
            List<Long> slice =
                distinct.subList(from, Math.min(distinct.size(), from + FIND_ALL_SLICE));
            h.createQuery("SELECT " + COLUMNS + " FROM apps WHERE id IN (<ids>)")
                .bindList("ids", slice)
                .map(JdbiAppRepository::map)
                .forEach(a -> found.put(a.id(), a));
          }
          return found;
        });
  }

  @Override
  public CompletionStage<List<Application>> listByOwner(String ownerSub) {
    return db.call(
        h ->
            h.createQuery("SELECT " + COLUMNS + " FROM apps WHERE owner_sub = :o ORDER BY id")
                .bind("o", ownerSub)
                .map(JdbiAppRepository::map)
                .list());
  }

  @Override
  public CompletionStage<List<Application>> listWithWebhook(long afterId, int limit) {
    return db.call(
        h ->
            h.createQuery(
                    "SELECT "
                        + COLUMNS
                        + " FROM apps WHERE webhook_url IS NOT NULL AND id > :after"
                        + " ORDER BY id LIMIT :limit")
                .bind("after", afterId)
                .bind("limit", limit)
                .map(JdbiAppRepository::map)
                .list());
  }

  @Override
  public CompletionStage<Optional<Application>> markVerified(long id) {
    return db.inTransaction(
        h -> {
          h.createUpdate(
                  "UPDATE apps SET state = :verified, updated_at = :now"
                      + " WHERE id = :id AND state = :registered")
              .bind("verified", AppState.VERIFIED.wireName())
              .bind("registered", AppState.REGISTERED.wireName())
              .bind("now", Timestamps.bind(Timestamps.now()))
              .bind("id", id)
              .execute();
          return findIn(h, id);
        });
  }

  @Override
  public CompletionStage<Optional<Application>> activate(long id, String apiKeyHash) {
    return change(
        id,
        "state = " + ACTIVE + ", api_key_hash = :hash",
        "state IN (" + VERIFIED + ", " + ACTIVE + ") AND suspended = FALSE",
        u -> u.bind("hash", apiKeyHash));
  }

  @Override
  public CompletionStage<Optional<Application>> deactivate(long id) {
    return change(
        id, "state = " + VERIFIED + ", api_key_hash = NULL", "state = " + ACTIVE, u -> {});
  }

  @Override
  public CompletionStage<Optional<Application>> suspend(long id) {
    return change(
        id,
        // The right-hand sides read the row as it was: whether it was active is kept for resume.
        "state = "
            + VERIFIED
            + ", api_key_hash = NULL, suspended = TRUE, suspended_active = CASE WHEN state = "
            + ACTIVE
            + " THEN TRUE ELSE FALSE END",
        "state IN (" + VERIFIED + ", " + ACTIVE + ") AND suspended = FALSE",
        u -> {});
  }

  @Override
  public CompletionStage<Optional<Application>> resume(long id, String apiKeyHash) {
    return change(
        id,
        "state = CASE WHEN suspended_active THEN "
            + ACTIVE
            + " ELSE "
            + VERIFIED
            + " END, api_key_hash = CASE WHEN suspended_active THEN :hash ELSE NULL END,"
            + " suspended = FALSE",
        "state IN (" + VERIFIED + ", " + ACTIVE + ") AND suspended = TRUE",
        u -> u.bind("hash", apiKeyHash));
  }

  @Override
  public CompletionStage<Optional<Application>> setWebhook(long id, String url, String secret) {
    return change(
        id,
        "webhook_url = :url, webhook_secret = :secret",
        "TRUE",
        u -> u.bind("url", url).bind("secret", secret));
  }

  /** A state as an SQL literal (the wire names are constants: letters only). */
  private static final String ACTIVE = "'" + AppState.ACTIVE.wireName() + "'";

  private static final String VERIFIED = "'" + AppState.VERIFIED.wireName() + "'";

  /**
   * One conditional change of application {@code id}: {@code set} (and {@code updated_at}) where
   * {@code condition} holds, with the parameters {@code bind} adds to {@code :id} and {@code :now};
   * the application as changed, or empty when it does not exist or the condition did not hold.
   */
  private CompletionStage<Optional<Application>> change(
      long id, String set, String condition, Consumer<Update> bind) {
    return db.inTransaction(
        h -> {
          Update u =
              h.createUpdate(
                      "UPDATE apps SET "
                          + set
                          + ", updated_at = :now WHERE id = :id AND "
                          + condition)
                  .bind("now", Timestamps.bind(Timestamps.now()))
                  .bind("id", id);
          bind.accept(u);
          return u.execute() == 0 ? Optional.<Application>empty() : findIn(h, id);
        });
  }

  private static Optional<Application> findIn(Handle h, long id) {
    return h.createQuery("SELECT " + COLUMNS + " FROM apps WHERE id = :id")
        .bind("id", id)
        .map(JdbiAppRepository::map)
        .findOne();
  }

  private static Application map(ResultSet rs, StatementContext ctx) throws SQLException {
    return new Application(
        rs.getLong("id"),
        rs.getString("name"),
        rs.getString("domain"),
        rs.getString("description"),
        rs.getString("owner_sub"),
        rs.getString("owner_email"),
        AppState.fromWire(rs.getString("state")),
        rs.getString("verification_key"),
        rs.getString("api_key_hash"),
        rs.getString("webhook_url"),
        rs.getString("webhook_secret"),
        Timestamps.read(rs, "created_at"),
        Timestamps.read(rs, "updated_at"),
        rs.getBoolean("suspended"));
  }
}
