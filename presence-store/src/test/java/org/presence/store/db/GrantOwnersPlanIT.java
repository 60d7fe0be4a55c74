package org.presence.store.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.presence.store.config.StoreConfig;
import org.presence.store.testing.Backends;

/**
 * A batch of the grant lock-row purge on PostgreSQL reads its users in order off the primary key
 * from where the last batch stopped, and stops, with the plan made for the values as with the
 * generic one.
 */
class GrantOwnersPlanIT {
  private static String schema;

  @BeforeAll
  static void pickSchema() {
    Backends.databaseUrl();
    schema = Backends.uniqueSchema(GrantOwnersPlanIT.class);
  }

  @AfterAll
  static void dropSchema() {
    if (schema != null) {
      Backends.dropSchema(schema);
    }
  }

  @Test
  void grantOwnersPage_readsOneBatchFromTheCursor() throws Exception {
    StoreConfig config =
        new StoreConfig(
            Path.of("unused"), Backends.postgres(schema), StoreConfig.RedisConfig.local(), 2, 64);
    try (PostgresPersistence p = PostgresPersistence.open(config)) {
      GrantOwnersPlans.fill(p);
      for (String mode : new String[] {"force_custom_plan", "force_generic_plan"}) {
        String plan =
            GrantOwnersPlans.plan(p, "SET plan_cache_mode = " + mode, "EXPLAIN (COSTS OFF)");
        assertThat(plan)
            .as(mode)
            .startsWith("Limit")
            .containsPattern("Index (Only )?Scan using grant_owners_pkey on grant_owners")
            .doesNotContain("Sort")
            .doesNotContain("Seq Scan");
      }
    }
  }
}
