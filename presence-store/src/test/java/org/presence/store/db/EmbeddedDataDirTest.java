package org.presence.store.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.Store;
import org.presence.store.config.StoreConfig;
import org.presence.store.error.StartupException;

/**
 * What the node makes of its data directory at start: a database file that is gone or empty beside
 * files of an earlier run is refused, not replaced by a new, empty database; a failure to open the
 * file blames another node only when the file is locked.
 */
class EmbeddedDataDirTest {
  @TempDir Path dataDir;

  @Test
  void emptyDatabaseBesideAJournal_refusesToStart_namingTheFileAndWhatToDo() throws Exception {
    Files.write(dataDir.resolve("notifications.journal"), new byte[] {1, 2, 3});
    Files.createFile(dataDir.resolve("presence.mv.db"));

    assertThatThrownBy(() -> Store.open(StoreConfig.embedded(dataDir)).close())
        .isInstanceOfSatisfying(
            StartupException.class, e -> assertThat(e.setting()).isEqualTo("data-dir"))
        .hasMessage(
            dataDir.toAbsolutePath().resolve("presence.mv.db")
                + " is empty but the directory was used before (notifications.journal): restore"
                + " presence.mv.db from a backup, or, to start afresh without the earlier"
                + " applications and grants, move the directory's other files away");
    // Left as it was: nothing written into the empty file.
    assertThat(Files.size(dataDir.resolve("presence.mv.db"))).isZero();
  }

  @Test
  void missingDatabaseBesideTheSessionKey_refusesToStart() throws Exception {
    Files.writeString(dataDir.resolve("web-session.key"), "k");
    Files.writeString(dataDir.resolve("dev-identity.jwk"), "{}");

    assertThatThrownBy(() -> EmbeddedPersistence.open(StoreConfig.embedded(dataDir)).close())
        .isInstanceOf(StartupException.class)
        .hasMessageContaining("presence.mv.db is missing but the directory was used before")
        .hasMessageContaining("(web-session.key)");
    assertThat(dataDir.resolve("presence.mv.db")).doesNotExist();
  }

  @Test
  void newDirectory_withEmptyFilesOrACopiedDevelopmentKey_startsAfresh_andRestarts()
      throws Exception {
    Files.createFile(dataDir.resolve("notifications.journal"));
    Files.writeString(dataDir.resolve("dev-identity.jwk"), "{}");
    EmbeddedPersistence.open(StoreConfig.embedded(dataDir)).close();
    Files.writeString(dataDir.resolve("web-session.key"), "k");

    EmbeddedPersistence.open(StoreConfig.embedded(dataDir)).close();
  }

  @Test
  void lockedFile_saysAnotherNodeMayUseIt() throws Exception {
    EmbeddedPersistence.open(StoreConfig.embedded(dataDir)).close();
    try (FileChannel ch =
            FileChannel.open(dataDir.resolve("presence.mv.db"), StandardOpenOption.WRITE);
        FileLock lock = ch.lock()) {
      assertThatThrownBy(() -> Store.open(StoreConfig.embedded(dataDir)).close())
          .isInstanceOf(StartupException.class)
          .hasMessageStartingWith("cannot open the embedded database in ")
          .hasMessageContaining(" (is another node using it?): ");
    }
  }

  @Test
  void damagedFile_doesNotBlameAnotherNode() throws Exception {
    Files.write(dataDir.resolve("presence.mv.db"), new byte[8192]);

    assertThatThrownBy(() -> Store.open(StoreConfig.embedded(dataDir)).close())
        .isInstanceOf(StartupException.class)
        .hasMessageStartingWith("cannot open the embedded database in ")
        .hasMessageNotContaining("another node");
  }
}
