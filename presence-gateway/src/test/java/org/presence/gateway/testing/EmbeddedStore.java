package org.presence.gateway.testing;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.cache.Invalidations;
import org.presence.store.bus.LocalPresenceBus;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.EmbeddedPersistence;

/**
 * The embedded store in {@code dir}, with a local bus and started cache invalidations: what a test
 * of one cache or service over the real repositories needs, without a node.
 */
public final class EmbeddedStore implements AutoCloseable {
  public final EmbeddedPersistence db;
  public final LocalPresenceBus bus;
  public final Invalidations invalidations;

  private EmbeddedStore(EmbeddedPersistence db, LocalPresenceBus bus, Invalidations invalidations) {
    this.db = db;
    this.bus = bus;
    this.invalidations = invalidations;
  }

  public static EmbeddedStore open(Path dir) throws Exception {
    EmbeddedPersistence db = EmbeddedPersistence.open(StoreConfig.embedded(dir));
    LocalPresenceBus bus = new LocalPresenceBus();
    Invalidations invalidations = new Invalidations(bus);
    try {
      invalidations.start().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      bus.close();
      db.close();
      throw e;
    }
    return new EmbeddedStore(db, bus, invalidations);
  }

  @Override
  public void close() {
    bus.close();
    db.close();
  }
}
