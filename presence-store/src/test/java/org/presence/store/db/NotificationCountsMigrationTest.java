package org.presence.store.db;

import java.nio.file.Path;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.config.StoreConfig;

/** {@link NotificationCountsMigrationContract} on the embedded H2 file. */
class NotificationCountsMigrationTest extends NotificationCountsMigrationContract {
  @TempDir Path dataDir;

  @Override
  protected FluentConfiguration flyway() {
    return Flyway.configure()
        .dataSource(EmbeddedPersistence.jdbcUrl(dataDir.toAbsolutePath()), "presence", "")
        .schemas("public")
        .createSchemas(true)
        .locations("classpath:db/migration");
  }

  @Override
  protected String table(String name) {
    return name;
  }

  @Override
  protected Persistence open() {
    return EmbeddedPersistence.open(StoreConfig.embedded(dataDir));
  }
}
