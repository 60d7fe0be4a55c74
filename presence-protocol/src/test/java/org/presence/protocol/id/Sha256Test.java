package org.presence.protocol.id;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class Sha256Test {
  @Test
  void digests_matchTheStandardVectors_call_afterCall() {
    // FIPS 180-2's "abc" and the empty string, twice each: the thread's digest starts clean.
    for (int i = 0; i < 2; i++) {
      assertThat(HexFormat.of().formatHex(Sha256.of("abc")))
          .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
      assertThat(HexFormat.of().formatHex(Sha256.of(new byte[0])))
          .isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
  }
}
