package org.presence.store.queue;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.EmbeddedPersistence;

/**
 * The queues on the embedded H2 file, including a crash: the database shut down without closing.
 */
class JdbiNotificationQueuesTest extends NotificationQueuesContract {
  @TempDir Path dataDir;
  private EmbeddedPersistence db;

  @Override
  protected NotificationQueues open() {
    db = EmbeddedPersistence.open(StoreConfig.embedded(dataDir));
    return new JdbiNotificationQueues(db.db());
  }

  @Override
  protected void close() {
    db.close();
  }

  @org.junit.jupiter.api.Test
  void crash_afterTheAck_keepsTheItem() {
    String u = "crash-" + java.util.UUID.randomUUID();
    Notification n = note(21, "survives a crash");
    await(queues.enqueue(u, n));
    // SHUTDOWN IMMEDIATELY stops the database as a killed process would: no checkpoint, no clean
    // close of the file; only what each commit wrote is there when it is opened again.
    try {
      db.db().jdbi().useHandle(h -> h.execute("SHUTDOWN IMMEDIATELY"));
    } catch (RuntimeException expected) {
      // The connection dies with the database.
    }
    close();
    queues = open();
    org.assertj.core.api.Assertions.assertThat(await(queues.pending(u))).containsExactly(n);
  }
}
