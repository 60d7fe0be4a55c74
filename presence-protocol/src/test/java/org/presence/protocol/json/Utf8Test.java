package org.presence.protocol.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * The UTF-8 check: every well-formed form is accepted, every ill-formed class is refused at its
 * first byte, wherever it falls relative to the eight-byte ASCII steps, over arrays and over heap,
 * direct, sliced and composite buffers; and the check agrees with the JDK's strict decoder.
 */
class Utf8Test {
  private static byte[] hex(String hex) {
    return HexFormat.of().parseHex(hex.replace(" ", ""));
  }

  private static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }

  private static byte[] ascii(int n) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) 'a');
    return b;
  }

  /** The answer of every way the class reads {@code bytes}; fails the test when they differ. */
  private static int invalidAt(byte[] bytes) {
    int array = Utf8.invalidAt(bytes, 0, bytes.length);
    // The same bytes inside a larger array, with bytes on both sides that must not be read.
    byte[] framed = concat(hex("e2 82"), bytes, hex("82 ac"));
    int inside = Utf8.invalidAt(framed, 2, 2 + bytes.length);
    assertThat(inside < 0 ? -1 : inside - 2).as("inside an array").isEqualTo(array);
    for (ByteBuf buf : buffers(bytes)) {
      try {
        int at = Utf8.invalidAt(buf, buf.readerIndex(), buf.readableBytes());
        assertThat(at < 0 ? -1 : at - buf.readerIndex())
            .as("%s", buf.getClass().getSimpleName())
            .isEqualTo(array);
        assertThat(Utf8.isValid(buf)).isEqualTo(array < 0);
      } finally {
        buf.release();
      }
    }
    return array;
  }

  private static ByteBuf[] buffers(byte[] bytes) {
    ByteBuf heap =
        Unpooled.wrappedBuffer(concat(ascii(3), bytes, hex("80"))).slice(3, bytes.length);
    ByteBuf direct = Unpooled.directBuffer(bytes.length + 8);
    direct.writeBytes(ascii(5)).writeBytes(bytes).writeBytes(hex("bf"));
    direct.readerIndex(5).writerIndex(5 + bytes.length);
    CompositeByteBuf composite = Unpooled.compositeBuffer();
    int half = bytes.length / 2;
    ByteBuf first = Unpooled.directBuffer(Math.max(1, half)).writeBytes(bytes, 0, half);
    ByteBuf second =
        Unpooled.directBuffer(Math.max(1, bytes.length - half))
            .writeBytes(bytes, half, bytes.length - half);
    composite.addComponents(true, first, second);
    return new ByteBuf[] {heap, direct, composite};
  }

  // ---------------------------------------------------------------------------------------------
  // Well-formed

  @ParameterizedTest(name = "[{index}] U+{0}")
  @ValueSource(
      ints = {
        0x0000, 0x0041, 0x007F, 0x0080, 0x00E9, 0x07FF, 0x0800, 0x0FFF, 0x1000, 0xCFFF, 0xD000,
        0xD7FF, 0xE000, 0xFFFD, 0xFFFF, 0x10000, 0x1F600, 0x3FFFF, 0x40000, 0xFFFFF, 0x100000,
        0x10FFFF
      })
  void invalidAt_whenBoundaryCodePoint_thenValid(int codePoint) {
    byte[] one = new String(Character.toChars(codePoint)).getBytes(StandardCharsets.UTF_8);
    // At every position against the eight-byte steps, alone and between ASCII.
    for (int before = 0; before <= 9; before++) {
      byte[] b = concat(ascii(before), one, ascii(before % 3), one, one);
      assertThat(invalidAt(b))
          .as("%s after %d ASCII bytes", HexFormat.of().formatHex(one), before)
          .isEqualTo(-1);
    }
  }

  @Test
  void invalidAt_whenTextOfEveryWidth_thenValid() {
    String text =
        "{\"type\":\"status\",\"message\":\"héllo wörld – ☕ 𝄞 café 日本語 👍🏽\"}".repeat(3);
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    assertThat(invalidAt(b)).isEqualTo(-1);
    assertThat(invalidAt(new byte[0])).isEqualTo(-1);
    assertThat(invalidAt(ascii(64))).isEqualTo(-1);
  }

  // ---------------------------------------------------------------------------------------------
  // Ill-formed

  static Stream<Arguments> illFormed() {
    return Stream.of(
        // Overlong forms.
        Arguments.of("c0 bc", "overlong '<'"),
        Arguments.of("c0 80", "overlong NUL"),
        Arguments.of("c1 bf", "overlong U+007F"),
        Arguments.of("e0 80 af", "overlong '/'"),
        Arguments.of("e0 9f bf", "overlong U+07FF"),
        Arguments.of("f0 80 80 af", "overlong '/' in four bytes"),
        Arguments.of("f0 8f bf bf", "overlong U+FFFF"),
        Arguments.of("f8 88 80 80 80", "five-byte form"),
        Arguments.of("fc 84 80 80 80 80", "six-byte form"),
        // Surrogates encoded in UTF-8.
        Arguments.of("ed a0 80", "U+D800"),
        Arguments.of("ed af bf", "U+DBFF"),
        Arguments.of("ed b0 80", "U+DC00"),
        Arguments.of("ed bf bf", "U+DFFF"),
        Arguments.of("ed a0 bd ed b8 80", "a surrogate pair in CESU-8"),
        // Above U+10FFFF.
        Arguments.of("f4 90 80 80", "U+110000"),
        Arguments.of("f4 bf bf bf", "U+13FFFF"),
        Arguments.of("f5 80 80 80", "lead F5"),
        Arguments.of("f7 bf bf bf", "U+1FFFFF"),
        // Truncated sequences, cut by ASCII or by the end.
        Arguments.of("c3", "two bytes, one present"),
        Arguments.of("c3 41", "two bytes, ASCII second"),
        Arguments.of("e2 82", "three bytes, two present"),
        Arguments.of("e2 41 ac", "three bytes, ASCII second"),
        Arguments.of("e2 82 41", "three bytes, ASCII third"),
        Arguments.of("f0 9f 98", "four bytes, three present"),
        Arguments.of("f0 9f", "four bytes, two present"),
        Arguments.of("f0 9f 98 41", "four bytes, ASCII fourth"),
        Arguments.of("e2 82 c3 a9", "three bytes, a new lead third"),
        // Stray continuation bytes.
        Arguments.of("80", "continuation 80"),
        Arguments.of("bf", "continuation BF"),
        Arguments.of("c3 a9 a9", "continuation after a complete sequence"),
        // Bytes that never appear.
        Arguments.of("f5", "F5"),
        Arguments.of("f8", "F8"),
        Arguments.of("fe", "FE"),
        Arguments.of("ff", "FF"));
  }

  @ParameterizedTest(name = "[{index}] {1}: {0}")
  @MethodSource("illFormed")
  void invalidAt_whenIllFormed_thenFirstBadByte(String bad, String what) {
    byte[] seq = hex(bad);
    // The bad byte of "c3 a9 a9" is the third; every other case is bad from its first byte.
    int within = bad.equals("c3 a9 a9") ? 2 : 0;
    for (int before = 0; before <= 17; before++) {
      byte[] b = concat(ascii(before), seq, ascii(9));
      assertThat(invalidAt(b))
          .as("%s after %d ASCII bytes", what, before)
          .isEqualTo(before + within);
      byte[] afterValid = concat("é€😀".getBytes(StandardCharsets.UTF_8), ascii(before), seq);
      assertThat(invalidAt(afterValid)).isEqualTo(9 + before + within);
    }
  }

  @Test
  void invalidAt_whenEveryLeadByteIsAloneOrWithoutContinuation_thenOnlyAsciiIsValid() {
    for (int b = 0; b < 256; b++) {
      byte[] alone = {(byte) b};
      byte[] withAscii = {(byte) b, 'x', 'y', 'z'};
      int expected = b < 0x80 ? -1 : 0;
      assertThat(invalidAt(alone)).as("%02x", b).isEqualTo(expected);
      assertThat(invalidAt(withAscii)).as("%02x x y z", b).isEqualTo(expected);
    }
  }

  @Test
  void invalidAt_whenRangeEndsInsideASequence_thenTruncated() {
    byte[] b = concat(ascii(7), "😀".getBytes(StandardCharsets.UTF_8), ascii(8));
    assertThat(Utf8.invalidAt(b, 0, b.length)).isEqualTo(-1);
    for (int cut = 8; cut < 11; cut++) {
      assertThat(Utf8.invalidAt(b, 0, cut)).as("cut at %d", cut).isEqualTo(7);
    }
    assertThat(Utf8.invalidAt(b, 8, b.length)).as("starting inside").isEqualTo(8);
    ByteBuf buf = Unpooled.directBuffer(b.length).writeBytes(b);
    try {
      for (int cut = 8; cut < 11; cut++) {
        assertThat(Utf8.invalidAt(buf, 0, cut)).as("cut at %d", cut).isEqualTo(7);
      }
      assertThat(Utf8.invalidAt(buf, 7, 4)).isEqualTo(-1);
    } finally {
      buf.release();
    }
  }

  @Test
  void check_whenIllFormed_thenMalformedJsonWithTheOffset() {
    byte[] b = "{\"message\":\"x\u0000y\"}".getBytes(StandardCharsets.UTF_8);
    b[14] = (byte) 0xC0;
    byte[] withOverlong = concat(Arrays.copyOf(b, 15), hex("bc"), Arrays.copyOfRange(b, 15, 18));
    ProtocolException e =
        catchThrowableOfType(
            ProtocolException.class, () -> Utf8.check(withOverlong, 0, withOverlong.length));
    assertThat(e.code()).isEqualTo(ErrorCode.MALFORMED_JSON);
    assertThat(e.detail()).isEqualTo("invalid UTF-8 at byte 14");
    ByteBuf buf = Unpooled.wrappedBuffer(concat(ascii(4), withOverlong));
    buf.readerIndex(4);
    try {
      e = catchThrowableOfType(ProtocolException.class, () -> Utf8.check(buf));
      assertThat(e.detail()).isEqualTo("invalid UTF-8 at byte 14");
      assertThat(buf.readerIndex()).isEqualTo(4);
    } finally {
      buf.release();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The same answers as the JDK's strict decoder

  private static final CharsetDecoder JDK =
      StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT);

  private static final CharBuffer OUT = CharBuffer.allocate(4096);

  /** Where the JDK's decoder finds the first ill-formed byte, or -1. */
  private static int jdk(byte[] b, int length) {
    JDK.reset();
    OUT.clear();
    ByteBuffer in = ByteBuffer.wrap(b, 0, length);
    CoderResult r = JDK.decode(in, OUT, true);
    if (!r.isError()) {
      r = JDK.flush(OUT);
    }
    return r.isError() ? in.position() : -1;
  }

  private static void sameAsJdk(byte[] b, int length) {
    int expected = jdk(b, length);
    int actual = Utf8.invalidAt(b, 0, length);
    if (actual != expected) {
      throw new AssertionError(
          "bytes "
              + HexFormat.ofDelimiter(" ").formatHex(b, 0, length)
              + ": JDK "
              + expected
              + ", Utf8 "
              + actual);
    }
  }

  @Test
  void invalidAt_agreesWithTheJdk_onEverySequenceOfUpToThreeBytes() {
    byte[] b = new byte[3];
    for (int b1 = 0; b1 < 256; b1++) {
      b[0] = (byte) b1;
      sameAsJdk(b, 1);
      for (int b2 = 0; b2 < 256; b2++) {
        b[1] = (byte) b2;
        sameAsJdk(b, 2);
        if (b1 < 0x80) {
          continue; // An ASCII first byte leaves the two-byte case above.
        }
        for (int b3 = 0; b3 < 256; b3++) {
          b[2] = (byte) b3;
          sameAsJdk(b, 3);
        }
      }
    }
  }

  @Test
  void invalidAt_agreesWithTheJdk_onFourByteSequences() {
    int[] tails = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC3, 0xF0, 0xFF};
    byte[] b = new byte[4];
    for (int b1 = 0xE0; b1 < 256; b1++) {
      for (int b2 = 0; b2 < 256; b2++) {
        for (int b3 : tails) {
          for (int b4 : tails) {
            b[0] = (byte) b1;
            b[1] = (byte) b2;
            b[2] = (byte) b3;
            b[3] = (byte) b4;
            sameAsJdk(b, 4);
          }
        }
      }
    }
  }

  /** Each of {@code texts} in UTF-8. */
  private static byte[][] utf8(String... texts) {
    byte[][] b = new byte[texts.length][];
    for (int i = 0; i < texts.length; i++) {
      b[i] = texts[i].getBytes(StandardCharsets.UTF_8);
    }
    return b;
  }

  /**
   * Writes random text at the start of {@code b} until it holds at least {@code wanted} bytes: one
   * of {@code pieces} at a time, or one time in {@code strayOneIn} an arbitrary byte; the length
   * written.
   */
  private static int randomText(Random r, byte[][] pieces, int strayOneIn, byte[] b, int wanted) {
    int length = 0;
    while (length < wanted) {
      if (r.nextInt(strayOneIn) == 0) {
        b[length++] = (byte) r.nextInt(256);
      } else {
        byte[] piece = pieces[r.nextInt(pieces.length)];
        System.arraycopy(piece, 0, b, length, piece.length);
        length += piece.length;
      }
    }
    return length;
  }

  @Test
  void invalidAt_agreesWithTheJdk_onRandomText() {
    long seed = System.nanoTime();
    Random r = new Random(seed);
    byte[][] pieces = utf8("a", "é", "€", "😀");
    byte[] b = new byte[64];
    for (int round = 0; round < 200_000; round++) {
      // Mostly whole characters, with an arbitrary byte now and then.
      int length = randomText(r, pieces, 40, b, r.nextInt(b.length - 3));
      try {
        sameAsJdk(b, length);
      } catch (AssertionError e) {
        throw new AssertionError("seed " + seed + ": " + e.getMessage(), e);
      }
    }
  }

  /**
   * Whether the first {@code length} bytes of {@code b}, cut into fragments after each byte whose
   * bit is set in {@code cuts} (bit k: after byte k), pass {@link Utf8#checkFragment} fragment by
   * fragment; an empty fragment is put in after byte k too when bit k of {@code empties} is set.
   */
  private static boolean fragmentsValid(ByteBuf buf, int length, int cuts, int empties) {
    int carry = Utf8.NO_CARRY;
    int from = 0;
    for (int k = 0; k < length - 1; k++) {
      if ((cuts & 1 << k) != 0) {
        carry = Utf8.checkFragment(carry, buf, from, k + 1 - from);
        from = k + 1;
      }
      if ((empties & 1 << k) != 0) {
        carry = Utf8.checkFragment(carry, buf, from, 0);
      }
    }
    carry = Utf8.checkFragment(carry, buf, from, length - from);
    return carry == Utf8.NO_CARRY;
  }

  @Test
  void checkFragment_agreesWithTheWholeMessage_whereverItIsCut() {
    int[] tails = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC3, 0xF0, 0xFF};
    byte[] b = new byte[4];
    ByteBuf buf = Unpooled.wrappedBuffer(b);
    for (int b1 = 0; b1 < 256; b1++) {
      for (int b2 : tails) {
        for (int b3 : tails) {
          for (int b4 : tails) {
            b[0] = (byte) b1;
            b[1] = (byte) b2;
            b[2] = (byte) b3;
            b[3] = (byte) b4;
            for (int length = 1; length <= 4; length++) {
              boolean whole = Utf8.isValid(b, 0, length);
              for (int cuts = 0; cuts < 1 << (length - 1); cuts++) {
                boolean split = fragmentsValid(buf, length, cuts, cuts == 0 ? 0 : ~cuts);
                if (split != whole) {
                  throw new AssertionError(
                      "bytes "
                          + HexFormat.ofDelimiter(" ").formatHex(b, 0, length)
                          + " cut "
                          + Integer.toBinaryString(cuts)
                          + ": whole "
                          + whole
                          + ", fragments "
                          + split);
                }
              }
            }
          }
        }
      }
    }
  }

  @Test
  void checkFragment_agreesWithTheWholeMessage_onRandomTextCutAnywhere() {
    long seed = System.nanoTime();
    Random r = new Random(seed);
    byte[][] pieces = utf8("abcdefghij", "é", "€", "😀");
    byte[] b = new byte[31];
    // A direct buffer the leak detector does not track (paranoid, it records every read).
    ByteBuf direct = Unpooled.wrappedBuffer(ByteBuffer.allocateDirect(b.length));
    try {
      for (int round = 0; round < 50_000; round++) {
        int length = randomText(r, pieces, 30, b, 1 + r.nextInt(b.length - 10));
        boolean whole = Utf8.isValid(b, 0, length);
        int cuts = r.nextInt();
        direct.clear().writeBytes(b, 0, length);
        ByteBuf heap = Unpooled.wrappedBuffer(b);
        if (fragmentsValid(heap, length, cuts, 0) != whole
            || fragmentsValid(direct, length, cuts, r.nextInt()) != whole) {
          throw new AssertionError(
              "seed "
                  + seed
                  + ": bytes "
                  + HexFormat.ofDelimiter(" ").formatHex(b, 0, length)
                  + " cut "
                  + Integer.toBinaryString(cuts)
                  + ": whole "
                  + whole);
        }
      }
    } finally {
      direct.release();
    }
  }

  /**
   * Whether the JDK's decoder, told more input may follow, finds the first {@code length} bytes
   * ill-formed already: it does as soon as no further byte can make them well-formed (E0 80, F4 90,
   * and here ED A0 too), which is when {@link Utf8#checkFragment} must say {@link Utf8#INVALID}.
   */
  private static boolean jdkRefusesSoFar(byte[] b, int length) {
    JDK.reset();
    OUT.clear();
    if (JDK.decode(ByteBuffer.wrap(b, 0, length), OUT, false).isError()) {
      return true;
    }
    // The JDK looks for a surrogate only once it has three bytes; ED A0..BF starts nothing else.
    int last = length - 1;
    return last > 0 && (b[last - 1] & 0xFF) == 0xED && (b[last] & 0xFF) >= 0xA0;
  }

  @Test
  void checkFragment_isInvalid_asSoonAsNoFurtherByteCanMakeTheTextWellFormed() {
    int[] tails = {0x00, 0x41, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC3, 0xED, 0xF0, 0xFF};
    byte[] b = new byte[3];
    ByteBuf buf = Unpooled.wrappedBuffer(b);
    for (int b1 = 0; b1 < 256; b1++) {
      for (int b2 : tails) {
        for (int b3 : tails) {
          b[0] = (byte) b1;
          b[1] = (byte) b2;
          b[2] = (byte) b3;
          // One byte per fragment: after each, INVALID exactly when the JDK refuses the bytes.
          int carry = Utf8.NO_CARRY;
          for (int n = 1; n <= 3; n++) {
            carry = Utf8.checkFragment(carry, buf, n - 1, 1);
            assertThat(carry == Utf8.INVALID)
                .as("%s", HexFormat.ofDelimiter(" ").formatHex(b, 0, n))
                .isEqualTo(jdkRefusesSoFar(b, n));
          }
          // And the same bytes as one fragment.
          assertThat(Utf8.checkFragment(Utf8.NO_CARRY, buf, 0, 3) == Utf8.INVALID)
              .as("%s whole", HexFormat.ofDelimiter(" ").formatHex(b))
              .isEqualTo(jdkRefusesSoFar(b, 3));
        }
      }
    }
  }

  @Test
  void checkFragment_staysInvalid_onceInvalid() {
    ByteBuf good = Unpooled.wrappedBuffer("abc".getBytes(StandardCharsets.US_ASCII));
    assertThat(Utf8.checkFragment(Utf8.INVALID, good, 0, 3)).isEqualTo(Utf8.INVALID);
    ByteBuf bad = Unpooled.wrappedBuffer(hex("c3 28"));
    assertThat(Utf8.checkFragment(Utf8.NO_CARRY, bad, 0, 2)).isEqualTo(Utf8.INVALID);
    // C3 alone may go on in the next fragment; 28 there cannot continue it.
    int carry = Utf8.checkFragment(Utf8.NO_CARRY, bad, 0, 1);
    assertThat(carry).isNotIn(Utf8.NO_CARRY, Utf8.INVALID);
    assertThat(Utf8.checkFragment(carry, bad, 1, 1)).isEqualTo(Utf8.INVALID);
  }
}
