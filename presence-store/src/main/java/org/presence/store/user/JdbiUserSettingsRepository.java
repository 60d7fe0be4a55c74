package org.presence.store.user;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.Update;
import org.presence.store.jdbi.Db;
import org.presence.store.jdbi.Timestamps;

/** {@link UserSettingsRepository} over Jdbi. */
public final class JdbiUserSettingsRepository implements UserSettingsRepository {
  /**
   * The users whose settings were saved since {@code :since}, at most {@code :n}: a range of the
   * {@code user_settings_updated_at} index (migration {@code V33_1}).
   */
  public static final String CHANGED_SINCE =
      "SELECT user_sub FROM user_settings WHERE updated_at >= :since LIMIT :n";

  private final Db db;

  public JdbiUserSettingsRepository(Db db) {
    this.db = db;
  }

  @Override
  public CompletionStage<UserSettings> get(String userSub) {
    return db.call(h -> find(h, userSub).orElseGet(() -> UserSettings.defaults(userSub)));
  }

  @Override
  public CompletionStage<List<String>> storedUsers(int limit) {
    return db.call(
        h ->
            h.createQuery("SELECT user_sub FROM user_settings LIMIT :n")
                .bind("n", limit)
                .mapTo(String.class)
                .list());
  }

  @Override
  public CompletionStage<List<String>> changedUsers(Instant since, int limit) {
    return db.call(
        h ->
            h.createQuery(CHANGED_SINCE)
                .bind("since", Timestamps.bind(since))
                .bind("n", limit)
                .mapTo(String.class)
                .list());
  }

  @Override
  public CompletionStage<UserSettings> put(UserSettings s) {
    return db.call(
        h -> {
          // Portable upsert: update, and insert when there was nothing to update. Two first saves
          // racing end with a unique violation for one; it then updates the row the other made.
          if (update(h, s) == 0) {
            try {
              bind(
                      h.createUpdate(
                          "INSERT INTO user_settings (user_sub, online_within_minutes,"
                              + " away_after_minutes, offline_after_minutes, custom_status,"
                              + " away_message, updated_at) VALUES (:u, :on, :away, :off, :status,"
                              + " :awayMsg, :now)"),
                      s)
                  .execute();
            } catch (RuntimeException e) {
              if (!Db.isUniqueViolation(e)) {
                throw e;
              }
              update(h, s);
            }
          }
          return find(h, s.userSub()).orElseThrow();
        });
  }

  private static int update(Handle h, UserSettings s) {
    return bind(
            h.createUpdate(
                "UPDATE user_settings SET online_within_minutes = :on, away_after_minutes = :away,"
                    + " offline_after_minutes = :off, custom_status = :status,"
                    + " away_message = :awayMsg, updated_at = :now WHERE user_sub = :u"),
            s)
        .execute();
  }

  private static Update bind(Update statement, UserSettings s) {
    return statement
        .bind("u", s.userSub())
        .bind("on", s.onlineWithinMinutes())
        .bind("away", s.awayAfterMinutes())
        .bind("off", s.offlineAfterMinutes())
        .bind("status", s.customStatus())
        .bind("awayMsg", s.awayMessage())
        .bind("now", Timestamps.bind(Timestamps.now()));
  }

  private static Optional<UserSettings> find(Handle h, String userSub) {
    return h.createQuery(
            "SELECT user_sub, online_within_minutes, away_after_minutes, offline_after_minutes,"
                + " custom_status, away_message FROM user_settings WHERE user_sub = :u")
        .bind("u", userSub)
        .map(
            (rs, ctx) ->
                new UserSettings(
                    rs.getString("user_sub"),
                    rs.getInt("online_within_minutes"),
                    rs.getInt("away_after_minutes"),
                    rs.getInt("offline_after_minutes"),
                    rs.getString("custom_status"),
                    rs.getString("away_message")))
        .findOne();
  }
}
