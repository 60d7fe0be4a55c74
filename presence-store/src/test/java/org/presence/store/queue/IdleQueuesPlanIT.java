package org.presence.store.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.PostgresPersistence;
import org.presence.store.testing.Backends;

/**
 * A sweep batch of idle queues on PostgreSQL reads the batch off its index and stops, with the plan
 * made for the values as with the generic one (a scale probe: the plan made without the limit was
 * for 275,341 queues, 4.2 s when run to the end).
 */
class IdleQueuesPlanIT {
  private static String schema;

  @BeforeAll
  static void pickSchema() {
    Backends.databaseUrl();
    schema = Backends.uniqueSchema(IdleQueuesPlanIT.class);
  }

  @AfterAll
  static void dropSchema() {
    if (schema != null) {
      Backends.dropSchema(schema);
    }
  }

  @Test
  void idleQueues_readsOneBatchInTheIndexOrder() {
    StoreConfig config =
        new StoreConfig(
            Path.of("unused"), Backends.postgres(schema), StoreConfig.RedisConfig.local(), 2, 64);
    try (PostgresPersistence p = PostgresPersistence.open(config)) {
      IdleQueuesPlans.fill(p.db());
      for (String mode : new String[] {"force_custom_plan", "force_generic_plan"}) {
        String plan =
            IdleQueuesPlans.plan(p.db(), "SET plan_cache_mode = " + mode, "EXPLAIN (COSTS OFF)");
        assertThat(plan)
            .as(mode)
            .startsWith("Limit")
            .contains("Index Scan using notification_queues_pushed_at on notification_queues")
            .doesNotContain("Sort");
      }
    }
  }
}
