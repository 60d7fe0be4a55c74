package org.presence.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.TestNode;

/** The data directory and its files are the owner's alone: 0700 and 0600. */
class DataDirPermissionsTest {
  @TempDir Path tmp;

  @Test
  void embeddedNode_keepsItsDataDirectory0700_andItsFiles0600() throws Exception {
    Path dataDir = tmp.resolve("data");
    // An existing directory and file, readable by everyone (an earlier run under umask 022).
    Files.createDirectories(dataDir);
    Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path old = Files.writeString(dataDir.resolve("old.txt"), "x");
    Files.setPosixFilePermissions(old, PosixFilePermissions.fromString("rw-r--r--"));

    try (TestNode node = TestNode.embedded(dataDir)) {
      assertThat(node.get("/__heartbeat__").statusCode()).isEqualTo(200);
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dataDir)))
          .isEqualTo("rwx------");
      List<Path> files = new ArrayList<>();
      try (DirectoryStream<Path> s = Files.newDirectoryStream(dataDir)) {
        s.forEach(files::add);
      }
      assertThat(files)
          .extracting(p -> p.getFileName().toString())
          .contains("presence.mv.db", "notifications.journal", "old.txt");
      for (Path f : files) {
        if (Files.isRegularFile(f)) {
          assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f)))
              .as(f.getFileName().toString())
              .isEqualTo("rw-------");
        }
      }
    }
  }
}
