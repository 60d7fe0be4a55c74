package org.presence.store.user;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.EmbeddedPersistence;
import org.presence.store.jdbi.Timestamps;
import org.presence.store.testing.Sql;

/**
 * The read of the users whose settings changed lately, on the embedded H2, reads those rows off the
 * {@code updated_at} index, not every user with settings.
 */
class SettingsChangedPlanTest {
  @TempDir Path dataDir;

  @Test
  void changedSince_readsTheRecentRowsOffTheIndex() {
    try (EmbeddedPersistence p = EmbeddedPersistence.open(StoreConfig.embedded(dataDir))) {
      Instant now = Instant.now();
      p.db()
          .jdbi()
          .useHandle(
              h -> {
                PreparedBatch batch =
                    h.prepareBatch(
                        "INSERT INTO user_settings (user_sub, online_within_minutes,"
                            + " away_after_minutes, offline_after_minutes, custom_status,"
                            + " away_message, updated_at) VALUES (:u, 5, 10, 25, '', '', :at)");
                // 5,000 users, one saving every minute going back from now.
                for (int i = 0; i < 5000; i++) {
                  batch
                      .bind("u", "user-" + i)
                      .bind("at", Timestamps.bind(now.minusSeconds(60L * i)))
                      .add();
                }
                batch.execute();
                h.execute("ANALYZE");
              });
      String plan =
          Sql.plan(
              p.db(),
              null,
              "EXPLAIN ANALYZE",
              JdbiUserSettingsRepository.CHANGED_SINCE,
              Map.of("since", Timestamps.bind(now.minusSeconds(60L * 50)), "n", 100_001));
      assertThat(plan).contains("user_settings_updated_at");
      Matcher scanned = Pattern.compile("scanCount: (\\d+)").matcher(plan);
      assertThat(scanned.find()).as(plan).isTrue();
      // The 50 users of the last 50 minutes, not the 5,000.
      assertThat(Integer.parseInt(scanned.group(1))).as(plan).isLessThan(100);
    }
  }
}
