package org.presence.store.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.EmbeddedPersistence;

/** A sweep batch of idle queues on the embedded H2 reads the batch off its index and stops. */
class IdleQueuesPlanTest {
  @TempDir Path dataDir;

  @Test
  void idleQueues_readsOneBatchInTheIndexOrder() {
    try (EmbeddedPersistence p = EmbeddedPersistence.open(StoreConfig.embedded(dataDir))) {
      IdleQueuesPlans.fill(p.db());
      String plan = IdleQueuesPlans.plan(p.db(), null, "EXPLAIN ANALYZE");
      assertThat(plan)
          .contains("notification_queues_pushed_at")
          .contains("/* index sorted */")
          .contains("FETCH FIRST");
      Matcher scanned = Pattern.compile("scanCount: (\\d+)").matcher(plan);
      assertThat(scanned.find()).as(plan).isTrue();
      // The batch's 100 queues, not the 4,500 idle ones.
      assertThat(Integer.parseInt(scanned.group(1))).as(plan).isLessThan(200);
    }
  }
}
