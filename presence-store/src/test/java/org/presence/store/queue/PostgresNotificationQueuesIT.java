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
    return new JdbiNotificationQueues(db.db());
  }

  @Override
  protected void close() {
    db.close();
  }
}
