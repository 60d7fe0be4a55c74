package org.presence.loadtest.presence;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code presence-setup.json} holds live API keys: only its owner may read it. */
class PresenceSetupFileTest {
  @TempDir Path dir;

  @Test
  void theSetupFile_isWrittenReadableByItsOwnerOnly_andReadsBack() throws Exception {
    PresenceSetup.Setup setup =
        new PresenceSetup.Setup(
            List.of(new PresenceSetup.AppKey(7, "live-key")), List.of("puid-0", "puid-1"));
    PresenceSetup.write(dir, setup);
    Path file = dir.resolve(PresenceSetup.FILE);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    PresenceSetup.write(dir, setup); // a second write (same folder) keeps it so
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    assertThat(PresenceSetup.load(dir).apps())
        .containsExactly(new PresenceSetup.AppKey(7, "live-key"));
  }
}
