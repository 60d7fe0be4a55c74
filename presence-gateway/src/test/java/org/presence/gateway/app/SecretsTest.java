package org.presence.gateway.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SecretsTest {
  @Test
  void newKey_is1024LettersAndDigitsAndFresh() {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 50; i++) {
      String k = Secrets.newKey();
      assertThat(k).hasSize(1024).matches("[A-Za-z0-9]+");
      assertThat(seen.add(k)).isTrue();
    }
  }

  @Test
  void hash_isLowerHexSha256() {
    assertThat(Secrets.hash("abc"))
        .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }

  @Test
  void matches_onlyTheKeyOfTheHash() {
    String k = Secrets.newKey();
    String h = Secrets.hash(k);
    assertThat(Secrets.matches(k, h)).isTrue();
    assertThat(Secrets.matches(k + "x", h)).isFalse();
    assertThat(Secrets.matches(k.substring(1), h)).isFalse();
    assertThat(Secrets.matches(null, h)).isFalse();
    assertThat(Secrets.matches(k, null)).isFalse();
    assertThat(Secrets.matches(k, "zz")).isFalse();
    assertThat(Secrets.matches(k, "g".repeat(64))).isFalse();
  }

  @Test
  void newWebhookSecret_is64Characters() {
    assertThat(Secrets.newWebhookSecret()).hasSize(64).matches("[A-Za-z0-9]+");
  }
}
