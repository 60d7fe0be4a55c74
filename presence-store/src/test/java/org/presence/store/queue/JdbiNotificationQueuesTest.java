package org.presence.store.queue;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.StoreConfig;
import org.presence.store.db.EmbeddedPersistence;

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
}
