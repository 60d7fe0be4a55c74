package org.presence.gateway.xmpp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.presence.protocol.json.Utf8;

class Utf8StreamTest {
  /** Bytes that make up UTF-8 and its mistakes: ASCII, continuations, every kind of lead. */
  private static final int[] BYTES = {
    0x41, 0x3c, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee,
    0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff
  };

  /**
   * Feeds {@code input} cut at {@code cuts}; returns how many bytes were taken before the stream
   * refused, or -1 when it took them all.
   */
  private static int feed(byte[] input, int... cuts) {
    Utf8Stream s = new Utf8Stream();
    int from = 0;
    for (int i = 0; i <= cuts.length; i++) {
      int to = i < cuts.length ? cuts[i] : input.length;
      ByteBuf buf = Unpooled.wrappedBuffer(input, from, to - from);
      int valid = s.validPrefix(buf);
      if (valid < to - from) {
        return from + valid;
      }
      from = to;
    }
    return -1;
  }

  private static byte[] hex(String s) {
    return HexFormat.of().parseHex(s.replace(" ", ""));
  }

  /** Whether some continuation bytes after {@code input} make it well-formed. */
  private static boolean completable(byte[] input) {
    int[] candidates = {0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf};
    for (int more = 1; more <= 3; more++) {
      int combos = (int) Math.pow(candidates.length, more);
      for (int c = 0; c < combos; c++) {
        byte[] longer = java.util.Arrays.copyOf(input, input.length + more);
        int k = c;
        for (int i = 0; i < more; i++) {
          longer[input.length + i] = (byte) candidates[k % candidates.length];
          k /= candidates.length;
        }
        if (Utf8.isValid(longer, 0, longer.length)) {
          return true;
        }
      }
    }
    return false;
  }

  @Test
  void validPrefix_whenASequenceIsCutAnywhere_thenItIsCheckedWhole() {
    // "é", "€", "😀" between ASCII, cut inside each sequence.
    byte[] good = hex("41 c3 a9 42 e2 82 ac 43 f0 9f 98 80 44");
    for (int cut = 0; cut <= good.length; cut++) {
      assertThat(feed(good, cut)).as("cut at " + cut).isEqualTo(-1);
    }
    assertThat(feed(good, 9, 10, 11)).isEqualTo(-1);
    // An overlong '/' cut after its lead byte: refused when the rest arrives.
    byte[] overlong = hex("41 e0 80 af 42");
    for (int cut = 0; cut <= overlong.length; cut++) {
      int taken = feed(overlong, cut);
      assertThat(taken).as("cut at " + cut).isBetween(1, 2);
    }
    // Above U+10FFFF: known bad from the second byte, before the rest arrives.
    assertThat(feed(hex("41 f4 90"), 2)).isEqualTo(2);
  }

  @Test
  void validPrefix_whenTheStreamEndsInsideASequence_thenItWaits() {
    for (String tail : List.of("c3", "e2 82", "f0 9f 98", "e0", "ed 9f", "f4 8f")) {
      assertThat(feed(hex("41 " + tail))).as(tail).isEqualTo(-1);
    }
    for (String tail : List.of("c0", "c1", "e0 9f", "ed a0", "f0 8f", "f4 90", "f5", "80")) {
      assertThat(feed(hex("41 " + tail))).as(tail).isEqualTo(1);
    }
  }

  @Test
  void validPrefix_agreesWithUtf8_onRandomInput_cutAtRandom() {
    Random random = new Random(6120);
    for (int round = 0; round < 200_000; round++) {
      byte[] input = new byte[1 + random.nextInt(9)];
      for (int i = 0; i < input.length; i++) {
        input[i] = (byte) BYTES[random.nextInt(BYTES.length)];
      }
      int cuts = random.nextInt(3);
      int[] at = new int[cuts];
      for (int i = 0; i < cuts; i++) {
        at[i] = random.nextInt(input.length + 1);
      }
      java.util.Arrays.sort(at);
      int taken = feed(input, at);
      int bad = Utf8.invalidAt(input, 0, input.length);
      String shown =
          HexFormat.ofDelimiter(" ").formatHex(input) + " cut " + java.util.Arrays.toString(at);
      if (bad < 0) {
        assertThat(taken).as(shown).isEqualTo(-1);
      } else if (taken < 0) {
        // Taken whole: only a sequence the end cuts short, which the next read could complete.
        assertThat(completable(input)).as(shown).isTrue();
      } else {
        // Refused at the bad sequence, or at the read that brought the byte that made it bad.
        assertThat(taken).as(shown).isBetween(bad, bad + 3);
      }
    }
  }
}
