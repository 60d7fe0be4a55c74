package org.presence.store.permission;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.EmbeddedPersistence;

/**
 * A page of an application's enabled grants on the embedded H2 reads that page off {@code
 * grants_app_puid}, not every grant of the application (a scale probe: 31 s for the stats of an
 * application with 50,000 grants, each page scanning all of them).
 */
class GrantPagePlanTest {
  @TempDir Path dataDir;

  @Test
  void enabledByAppPage_readsOnePageInTheIndexOrder() throws Exception {
    try (EmbeddedPersistence p = EmbeddedPersistence.open(StoreConfig.embedded(dataDir))) {
      long app = GrantPagePlans.fill(p);
      for (String after : new String[] {"", "00002500"}) {
        String plan = GrantPagePlans.plan(p, null, "EXPLAIN ANALYZE", app, after);
        assertThat(plan)
            .as("H2 plan after '%s'", after)
            .contains("grants_app_puid")
            .contains("/* index sorted */")
            .contains("FETCH FIRST");
        Matcher scanned = Pattern.compile("scanCount: (\\d+)").matcher(plan);
        assertThat(scanned.find()).as(plan).isTrue();
        // The page's 100 enabled grants and the paused ones among them, not the application's
        // 5,000 grants.
        assertThat(Integer.parseInt(scanned.group(1))).as(plan).isLessThan(200);
      }
    }
  }
}
