package org.presence.store.db;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.jdbi.v3.core.Handle;
import org.presence.store.jdbi.Db;
import org.presence.store.jdbi.Timestamps;

/**
 * Deletes what sign-ins, pairings and grants leave behind once it serves nothing
 * (docs/operations.md, data retention): expired page sessions ({@code web_sessions}), OpenID
 * Connect sign-ins never finished ({@code oidc_logins}), expired pairing requests ({@code
 * device_authorizations}), paired devices revoked before a cutoff with their remembered refresh
 * tokens ({@code paired_devices}, {@code paired_device_rotated_tokens}), remembered refresh tokens
 * rotated out before a cutoff, and the grant lock rows of users without a grant ({@code
 * grant_owners}).
 *
 * <p>Each call deletes at most {@code limit} rows, oldest first, selected by an indexed column
 * (migrations {@code V15_1}, {@code V30_6}), and checks its condition again on every row it
 * deletes, so that a row made or changed after the inner select read it stays. Completes with how
 * many rows of the kind went. Portable SQL for PostgreSQL and the embedded H2.
 */
public final class SignInRetention {
  /**
   * How long a paired device's rotated-out refresh token is remembered, to recognise its reuse
   * (docs/device-protocol.md); an older one is merely unknown.
   */
  public static final Duration ROTATED_TOKENS_KEPT = Duration.ofDays(30);

  /**
   * Expired rows a request that makes a row of the kind (a sign-in, a sign-in started, a pairing
   * request) deletes at most, oldest first: more than it makes, so that the table does not outgrow
   * its traffic between sweeps, and few enough that the request stays one short indexed statement
   * whatever backlog the sweep has left (docs/operations.md, data retention).
   */
  public static final int ON_REQUEST = 10;

  private final Db db;

  public SignInRetention(Db db) {
    this.db = db;
  }

  /** Page sessions that expired at or before {@code now} (they open nothing any more). */
  public CompletionStage<Integer> expiredWebSessions(Instant now, int limit) {
    return expired("web_sessions", "id_hash", now, limit);
  }

  /** OpenID Connect sign-ins started and not finished that expired at or before {@code now}. */
  public CompletionStage<Integer> expiredOidcLogins(Instant now, int limit) {
    return expired("oidc_logins", "state_hash", now, limit);
  }

  /**
   * Pairing requests that expired at or before {@code now}, decided or not (a device polling with
   * one is answered as for an unknown device code).
   */
  public CompletionStage<Integer> expiredDeviceAuthorizations(Instant now, int limit) {
    return expired("device_authorizations", "code_hash", now, limit);
  }

  /**
   * On the handle of a sign-in that makes a page session: at most {@link #ON_REQUEST} page sessions
   * that expired at or before {@code now}; how many went.
   */
  public static int someExpiredWebSessions(Handle h, Instant now) {
    return expired(h, "web_sessions", "id_hash", now, ON_REQUEST);
  }

  /**
   * On the handle of an OpenID Connect sign-in being started: at most {@link #ON_REQUEST}
   * unfinished ones that expired at or before {@code now}; how many went.
   */
  public static int someExpiredOidcLogins(Handle h, Instant now) {
    return expired(h, "oidc_logins", "state_hash", now, ON_REQUEST);
  }

  /**
   * On the handle of a pairing request being made: at most {@link #ON_REQUEST} pairing requests
   * that expired at or before {@code now}; how many went.
   */
  public static int someExpiredDeviceAuthorizations(Handle h, Instant now) {
    return expired(h, "device_authorizations", "code_hash", now, ON_REQUEST);
  }

  private CompletionStage<Integer> expired(String table, String key, Instant now, int limit) {
    return db.call(h -> expired(h, table, key, now, limit));
  }

  private static int expired(Handle h, String table, String key, Instant now, int limit) {
    return h.createUpdate(
            "DELETE FROM "
                + table
                + " WHERE expires_at <= :now AND "
                + key
                + " IN (SELECT "
                + key
                + " FROM "
                + table
                + " WHERE expires_at <= :now ORDER BY expires_at LIMIT :n)")
        .bind("now", Timestamps.bind(now))
        .bind("n", limit)
        .execute();
  }

  /**
   * Paired devices revoked before {@code before}, with any refresh tokens still remembered for
   * them; completes with how many devices went.
   */
  public CompletionStage<Integer> revokedDevices(Instant before, int limit) {
    return db.inTransaction(
        h -> {
          List<String> ids =
              h.createQuery(
                      "SELECT id FROM paired_devices WHERE revoked_at < :before"
                          + " ORDER BY revoked_at LIMIT :n")
                  .bind("before", Timestamps.bind(before))
                  .bind("n", limit)
                  .mapTo(String.class)
                  .list();
          if (ids.isEmpty()) {
            return 0;
          }
          h.createUpdate("DELETE FROM paired_device_rotated_tokens WHERE device_id IN (<ids>)")
              .bindList("ids", ids)
              .execute();
          return h.createUpdate(
                  "DELETE FROM paired_devices WHERE revoked_at < :before AND id IN (<ids>)")
              .bind("before", Timestamps.bind(before))
              .bindList("ids", ids)
              .execute();
        });
  }

  /**
   * Remembered refresh tokens rotated out before {@code before}: past the time a device's rotated
   * tokens are kept to recognise their reuse.
   */
  public CompletionStage<Integer> rotatedTokens(Instant before, int limit) {
    return db.call(
        h ->
            h.createUpdate(
                    "DELETE FROM paired_device_rotated_tokens WHERE rotated_at < :before AND"
                        + " refresh_hash IN (SELECT refresh_hash FROM paired_device_rotated_tokens"
                        + " WHERE rotated_at < :before ORDER BY rotated_at LIMIT :n)")
                .bind("before", Timestamps.bind(before))
                .bind("n", limit)
                .execute());
  }

  /**
   * The next lock rows the grant-owner purge looks at: at most {@code :n} users after {@code
   * :after} in {@code user_sub} order, read off the primary key and stopping there, so that each
   * batch costs its own rows, never the rows before it (a scale probe: every batch of the former
   * statement walked the table from its start past the users who hold grants).
   */
  public static final String GRANT_OWNERS_PAGE =
      "SELECT user_sub FROM grant_owners WHERE user_sub > :after ORDER BY user_sub LIMIT :n";

  /**
   * One batch of the grant-owner purge: how many lock rows went, and the last user it looked at,
   * where the next batch starts ({@code null} once it reached the end of the table).
   */
  public record OwnersBatch(int deleted, String next) {}

  /**
   * The lock rows of users who hold no grant (every grant revoked, or gone with its application)
   * among the next {@code limit} users after {@code after} ({@code ""} at the start): a user's next
   * grant makes the row again. Two statements, each bounded by {@code limit}: the page ({@link
   * #GRANT_OWNERS_PAGE}), then a delete of those of its users who hold no grant, checked again on
   * each row (one probe of the {@code grants_user} index), so that a grant made meanwhile keeps its
   * row.
   */
  public CompletionStage<OwnersBatch> grantOwnersWithoutGrants(String after, int limit) {
    return db.call(
        h -> {
          List<String> users =
              h.createQuery(GRANT_OWNERS_PAGE)
                  .bind("after", after)
                  .bind("n", limit)
                  .mapTo(String.class)
                  .list();
          if (users.isEmpty()) {
            return new OwnersBatch(0, null);
          }
          int deleted =
              h.createUpdate(
                      "DELETE FROM grant_owners WHERE user_sub IN (<users>) AND NOT EXISTS"
                          + " (SELECT 1 FROM grants g WHERE g.user_sub = grant_owners.user_sub)")
                  .bindList("users", users)
                  .execute();
          return new OwnersBatch(
              deleted, users.size() < limit ? null : users.get(users.size() - 1));
        });
  }
}
