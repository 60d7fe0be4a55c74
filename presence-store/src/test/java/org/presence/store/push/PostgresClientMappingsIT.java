package org.presence.store.push;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.Persistence;
import org.presence.store.db.PostgresPersistence;
import org.presence.store.testing.Backends;

class PostgresClientMappingsIT extends ClientMappingRepositoryContract {
  private static String schema;

  @BeforeAll
  static void pickSchema() {
    Backends.databaseUrl();
    schema = Backends.uniqueSchema(PostgresClientMappingsIT.class);
  }

  @AfterAll
  static void dropSchema() {
    if (schema != null) {
      Backends.dropSchema(schema);
    }
  }

  @Override
  protected Persistence open() {
    return PostgresPersistence.open(
        new StoreConfig(
            Path.of("unused"), Backends.postgres(schema), StoreConfig.RedisConfig.local(), 4, 64));
  }
}
