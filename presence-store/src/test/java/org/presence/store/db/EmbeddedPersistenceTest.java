package org.presence.store.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.config.StoreConfig;

class EmbeddedPersistenceTest extends PersistenceContract {
  @TempDir Path dataDir;

  @Override
  protected Persistence open() {
    return EmbeddedPersistence.open(StoreConfig.embedded(dataDir));
  }

  @Test
  void open_keepsTheDatabaseInTheDataDirectory() {
    assertThat(persistence.kind()).isEqualTo("embedded");
    assertThat(Files.exists(dataDir.resolve("presence.mv.db"))).isTrue();
  }

  @Test
  void aFailedStatement_writesNoTraceFileIntoTheDataDirectory() throws Exception {
    EmbeddedPersistence embedded = (EmbeddedPersistence) persistence;
    assertThatThrownBy(
            () -> embedded.db().jdbi().useHandle(h -> h.execute("SELECT * FROM no_such_table")))
        .isInstanceOf(Exception.class);
    try (var files = Files.list(dataDir)) {
      assertThat(files.map(f -> f.getFileName().toString()))
          .noneMatch(name -> name.endsWith(".trace.db"));
    }
  }
}
