package org.presence.store.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.config.StoreConfig;

/**
 * A batch of the grant lock-row purge on the embedded H2 reads its users off the primary key from
 * where the last batch stopped, and stops: not the table from its start, past every user who holds
 * a grant (a scale probe: each batch of the former statement did, so a purge cost the table once a
 * batch).
 */
class GrantOwnersPlanTest {
  @TempDir Path dataDir;

  @Test
  void grantOwnersPage_readsOneBatchFromTheCursor() throws Exception {
    try (EmbeddedPersistence p = EmbeddedPersistence.open(StoreConfig.embedded(dataDir))) {
      GrantOwnersPlans.fill(p);
      String plan = GrantOwnersPlans.plan(p, null, "EXPLAIN ANALYZE");
      assertThat(plan)
          .containsIgnoringCase("PRIMARY_KEY")
          .contains("/* index sorted */")
          .contains("FETCH FIRST");
      Matcher scanned = Pattern.compile("scanCount: (\\d+)").matcher(plan);
      assertThat(scanned.find()).as(plan).isTrue();
      // The batch's 100 users, not the 2,500 before the cursor nor the 4,900 with grants.
      assertThat(Integer.parseInt(scanned.group(1))).as(plan).isLessThan(200);
    }
  }
}
