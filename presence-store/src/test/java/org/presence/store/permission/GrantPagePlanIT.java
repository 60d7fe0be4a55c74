package org.presence.store.permission;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.PostgresPersistence;
import org.presence.store.testing.Backends;

/**
 * A page of an application's enabled grants on PostgreSQL reads that page in PUID order off an
 * index and stops, with the plan made for the values (PgJDBC's first runs on a connection) as with
 * the generic one. A scale probe found the first sorting every remaining grant of a 500,000-grant
 * application for each page (1 to 3.4 s a page, against 1 ms).
 */
class GrantPagePlanIT {
  private static String schema;

  @BeforeAll
  static void pickSchema() {
    Backends.databaseUrl();
    schema = Backends.uniqueSchema(GrantPagePlanIT.class);
  }

  @AfterAll
  static void dropSchema() {
    if (schema != null) {
      Backends.dropSchema(schema);
    }
  }

  @Test
  void enabledByAppPage_readsOnePageInTheIndexOrder() throws Exception {
    StoreConfig config =
        new StoreConfig(
            Path.of("unused"), Backends.postgres(schema), StoreConfig.RedisConfig.local(), 2, 64);
    try (PostgresPersistence p = PostgresPersistence.open(config)) {
      long app = GrantPagePlans.fill(p);
      for (String mode : new String[] {"force_custom_plan", "force_generic_plan"}) {
        for (String after : new String[] {"", "00002500"}) {
          String plan =
              GrantPagePlans.plan(
                  p, "SET plan_cache_mode = " + mode, "EXPLAIN (COSTS OFF)", app, after);
          assertThat(plan)
              .as("%s after '%s'", mode, after)
              .startsWith("Limit")
              // In PUID order off an index, stopping at the page: grants_app_puid, or (the
              // application holding half the table here) the primary key, filtered by app_id.
              .containsPattern("Index Scan using (grants_app_puid|grants_pkey) on grants")
              .doesNotContain("Sort");
        }
      }
    }
  }
}
