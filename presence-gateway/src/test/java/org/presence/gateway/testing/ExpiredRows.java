package org.presence.gateway.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import org.jdbi.v3.core.Jdbi;
import org.presence.store.db.SignInRetention;
import org.presence.store.jdbi.Timestamps;

/**
 * A backlog of expired sign-in rows (sessions, unfinished sign-ins, pairing requests), for the
 * tests that a request deletes only {@link SignInRetention#ON_REQUEST} of them, oldest first.
 */
public final class ExpiredRows {
  /** How many rows {@link #insert} makes: more than a request deletes. */
  public static final int BACKLOG = SignInRetention.ON_REQUEST + 15;

  private ExpiredRows() {}

  /**
   * Runs {@code insert} {@link #BACKLOG} times, binding {@code :id} to {@code old-<i>} and {@code
   * :at} to {@code now} less an hour and {@code i} seconds (so {@code old-0} expired last).
   */
  public static void insert(Jdbi jdbi, Instant now, String insert) {
    jdbi.useHandle(
        h -> {
          for (int i = 0; i < BACKLOG; i++) {
            h.createUpdate(insert)
                .bind("id", "old-" + i)
                .bind("at", Timestamps.bind(now.minusSeconds(3600 + i)))
                .execute();
          }
        });
  }

  /**
   * Checks that {@code select} (the ids of the rows {@link #insert} made) finds all but {@link
   * SignInRetention#ON_REQUEST} of them, the oldest gone.
   */
  public static void assertOldestDeleted(Jdbi jdbi, String select) {
    List<String> left = jdbi.withHandle(h -> h.createQuery(select).mapTo(String.class).list());
    assertThat(left)
        .hasSize(BACKLOG - SignInRetention.ON_REQUEST)
        .doesNotContain("old-" + (BACKLOG - 1))
        .contains("old-0");
  }
}
