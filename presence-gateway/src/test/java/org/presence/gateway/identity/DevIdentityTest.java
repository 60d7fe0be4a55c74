package org.presence.gateway.identity;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DevIdentityTest {
  @TempDir Path dataDir;

  @Test
  void loadOrCreate_makesTheKeyOnceAndKeepsItPrivate() throws Exception {
    DevIdentity first = DevIdentity.loadOrCreate(dataDir);
    Path file = dataDir.resolve(DevIdentity.KEY_FILE);
    assertThat(Files.getPosixFilePermissions(file))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
    DevIdentity second = DevIdentity.loadOrCreate(dataDir);
    assertThat(second.publicKeys().toString()).isEqualTo(first.publicKeys().toString());
    assertThat(first.publicKeys().toString()).doesNotContain("\"d\"");
  }

  @Test
  void subjectFor_isStablePerEmail() {
    assertThat(DevIdentity.subjectFor(" Bob@Example.org ")).isEqualTo("dev:bob@example.org");
  }
}
