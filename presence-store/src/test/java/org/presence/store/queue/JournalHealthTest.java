package org.presence.store.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.store.testing.Futures.join;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.Store;
import org.presence.store.config.StoreConfig;

/**
 * The embedded default's health names its notification journal: fine while it takes changes, and
 * failing, with why, once its writer stopped (the node's heartbeat shows it, 503).
 */
class JournalHealthTest {
  @TempDir Path dir;

  @Test
  void theJournalIsInTheStoresHealth_andFailsThereOnceItsWriterStopped() throws Exception {
    try (Store store = Store.open(StoreConfig.embedded(dir))) {
      Map<String, String> fine = join(store.health());
      assertThat(fine).containsKeys("database", "bus", "notifications");
      assertThat(fine.get("notifications")).isNull();

      JournalNotificationQueues journal = (JournalNotificationQueues) store.notifications();
      journal.throwInWriterOnceForTests(new StackOverflowError("thrown by the test"));
      var refused =
          store
              .notifications()
              .enqueue("health-user", NotificationQueuesContract.note(7, "lost"))
              .toCompletableFuture();
      assertThat(refused).failsWithin(10, TimeUnit.SECONDS);

      Map<String, String> failed = join(store.health());
      assertThat(failed.get("notifications")).contains("journal failed").contains("restarts");
      assertThat(failed.get("database")).isNull();
    }
  }
}
