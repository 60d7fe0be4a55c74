package org.presence.store.db;

import java.nio.file.Path;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.presence.store.config.StoreConfig;
import org.presence.store.testing.Backends;

/** {@link NotificationCountsMigrationContract} on PostgreSQL, in a schema of its own. */
class PostgresNotificationCountsMigrationIT extends NotificationCountsMigrationContract {
  private String schema;

  @BeforeEach
  void pickSchema() {
    Backends.databaseUrl();
    schema = Backends.uniqueSchema(PostgresNotificationCountsMigrationIT.class);
  }

  @AfterEach
  void dropSchema() {
    if (schema != null) {
      Backends.dropSchema(schema);
    }
  }

  @Override
  protected FluentConfiguration flyway() {
    StoreConfig.DatabaseConfig db = Backends.postgres(schema);
    return Flyway.configure()
        .dataSource(
            PostgresUrls.toJdbc(db.url()),
            db.user().isEmpty() ? null : db.user(),
            db.password().isEmpty() ? null : db.password())
        .schemas(schema)
        .createSchemas(true)
        .locations("classpath:db/migration");
  }

  @Override
  protected String table(String name) {
    return schema + "." + name;
  }

  @Override
  protected Persistence open() {
    return PostgresPersistence.open(
        new StoreConfig(
            Path.of("unused"), Backends.postgres(schema), StoreConfig.RedisConfig.local(), 4, 64));
  }
}
