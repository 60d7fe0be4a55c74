package org.presence.protocol.id;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.SecureRandom;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class SecureRandomsTest {
  @Test
  void uuid_isARandomVersion4Uuid_andNeverRepeats() {
    Set<UUID> seen = new HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      UUID u = SecureRandoms.uuid();
      assertThat(u.version()).isEqualTo(4);
      assertThat(u.variant()).isEqualTo(2);
      assertThat(seen.add(u)).as("repeat %s", u).isTrue();
      assertThat(UUID.fromString(u.toString())).isEqualTo(u);
    }
  }

  @Test
  void current_isOneGeneratorPerThread_seededDifferently() throws Exception {
    SecureRandom mine = SecureRandoms.current();
    assertThat(SecureRandoms.current()).isSameAs(mine);
    AtomicReference<SecureRandom> other = new AtomicReference<>();
    AtomicReference<byte[]> otherBytes = new AtomicReference<>();
    Thread t =
        new Thread(
            () -> {
              other.set(SecureRandoms.current());
              byte[] b = new byte[32];
              SecureRandoms.current().nextBytes(b);
              otherBytes.set(b);
            });
    t.start();
    t.join(10_000);
    assertThat(other.get()).isNotNull().isNotSameAs(mine);
    byte[] b = new byte[32];
    mine.nextBytes(b);
    assertThat(b).isNotEqualTo(otherBytes.get());
  }
}
