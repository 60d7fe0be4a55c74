package org.presence.store.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.presence.store.config.StoreConfig;
import org.presence.store.testing.Backends;

class PostgresPersistenceIT extends PersistenceContract {
  private static String schema;

  @BeforeAll
  static void pickSchema() {
    Backends.databaseUrl();
    schema = Backends.uniqueSchema(PostgresPersistenceIT.class);
  }

  @AfterAll
  static void dropSchema() {
    if (schema != null) {
      Backends.dropSchema(schema);
    }
  }

  @Override
  protected Persistence open() {
    StoreConfig config =
        new StoreConfig(
            Path.of("unused"), Backends.postgres(schema), StoreConfig.RedisConfig.local(), 4, 64);
    return PostgresPersistence.open(config);
  }

  @Test
  void kind_isPostgresql() {
    assertThat(persistence.kind()).isEqualTo("postgresql");
  }
}
