package org.presence.store.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

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
  void aRegistrationThatWaitsTooLongForItsDevelopersLock_isServerBusy_andStoresNothing()
      throws Exception {
    EmbeddedPersistence embedded = (EmbeddedPersistence) persistence;
    await(persistence.apps().create(keyed("dev-held", "First", null)));
    // Another registration of the same developer holds the lock (H2 gives a wait up after 2 s).
    try (org.jdbi.v3.core.Handle holder = embedded.db().jdbi().open()) {
      holder.begin();
      holder
          .createQuery("SELECT owner_sub FROM app_owners WHERE owner_sub = :o FOR UPDATE")
          .bind("o", "dev-held")
          .mapTo(String.class)
          .one();
      Throwable busy =
          catchThrowable(
              () ->
                  persistence
                      .apps()
                      .createWithin(keyed("dev-held", "Second", null), 10)
                      .toCompletableFuture()
                      .get(60, java.util.concurrent.TimeUnit.SECONDS));
      assertThat(busy).hasCauseInstanceOf(org.presence.store.error.StoreException.class);
      assertThat(((org.presence.store.error.StoreException) busy.getCause()).code())
          .isEqualTo(org.presence.protocol.error.ErrorCode.SERVER_BUSY);
      // Another developer is not held up.
      assertThat(await(persistence.apps().createWithin(keyed("dev-free", "Own", null), 10)))
          .isPresent();
      holder.rollback();
    }
    assertThat(await(persistence.apps().listByOwner("dev-held"))).hasSize(1);
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
