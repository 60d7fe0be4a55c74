package org.presence.store.queue;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.PostgresPersistence;
import org.presence.store.testing.Backends;

class PostgresNotificationQueuesIT extends NotificationQueuesContract {
  private static String schema;
  private PostgresPersistence db;
  private long maxQueuedPerApp = NotificationQueues.DEFAULT_MAX_QUEUED_PER_APP;

  @BeforeAll
  static void pickSchema() {
    Backends.databaseUrl();
    schema = Backends.uniqueSchema(PostgresNotificationQueuesIT.class);
  }

  @AfterAll
  static void dropSchema() {
    if (schema != null) {
      Backends.dropSchema(schema);
    }
  }

  @Override
  protected NotificationQueues open() {
    db =
        PostgresPersistence.open(
            new StoreConfig(
                Path.of("unused"),
                Backends.postgres(schema),
                StoreConfig.RedisConfig.local(),
                8,
                256));
    return new JdbiNotificationQueues(db.db(), maxQueuedPerApp);
  }

  @Override
  protected void close() {
    db.close();
  }

  @Override
  protected NotificationQueues reopenCapped(long maxQueuedPerApp) {
    close();
    this.maxQueuedPerApp = maxQueuedPerApp;
    return open();
  }
}
