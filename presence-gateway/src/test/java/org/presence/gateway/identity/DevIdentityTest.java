package org.presence.gateway.identity;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
  void loadOrCreate_fromManyProcessesAtOnce_allUseTheKeyOnFile() throws Exception {
    // A node and `presence dev-token` starting on one fresh data directory: whoever made the key
    // first wins, and nobody signs with a key other than the one on file.
    for (int round = 0; round < 5; round++) {
      Path dir = dataDir.resolve("round-" + round);
      int n = 8;
      CyclicBarrier start = new CyclicBarrier(n);
      ExecutorService pool = Executors.newFixedThreadPool(n);
      try {
        List<Future<DevIdentity>> made = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          made.add(
              pool.submit(
                  () -> {
                    start.await();
                    return DevIdentity.loadOrCreate(dir);
                  }));
        }
        List<String> used = new ArrayList<>();
        for (Future<DevIdentity> f : made) {
          used.add(f.get(10, TimeUnit.SECONDS).publicKeys().toString());
        }
        JWKSet onFile =
            new JWKSet(ECKey.parse(Files.readString(dir.resolve(DevIdentity.KEY_FILE))))
                .toPublicJWKSet();
        assertThat(used).allMatch(onFile.toString()::equals, "the key on file");
        try (Stream<Path> left = Files.list(dir)) {
          assertThat(left).containsExactly(dir.resolve(DevIdentity.KEY_FILE));
        }
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void subjectFor_isStablePerEmail() {
    assertThat(DevIdentity.subjectFor(" Bob@Example.org ")).isEqualTo("dev:bob@example.org");
  }
}
