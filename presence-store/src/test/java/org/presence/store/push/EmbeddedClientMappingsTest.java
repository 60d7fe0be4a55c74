package org.presence.store.push;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.EmbeddedPersistence;
import org.presence.store.db.Persistence;

class EmbeddedClientMappingsTest extends ClientMappingRepositoryContract {
  @TempDir Path dataDir;

  @Override
  protected Persistence open() {
    return EmbeddedPersistence.open(StoreConfig.embedded(dataDir));
  }
}
