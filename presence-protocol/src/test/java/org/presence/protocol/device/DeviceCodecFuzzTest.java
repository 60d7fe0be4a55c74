package org.presence.protocol.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * Randomized hostile input: whatever the bytes, {@link DeviceCodec#decode} returns a message or
 * throws a {@link ProtocolException} with a frame-level errno, never anything else, and leaves the
 * buffer as it was. The seed is printed on failure so a case can be replayed.
 */
class DeviceCodecFuzzTest {
  private static final Set<ErrorCode> FRAME_ERRORS =
      EnumSet.of(
          ErrorCode.MALFORMED_JSON,
          ErrorCode.UNKNOWN_TYPE,
          ErrorCode.MISSING_FIELD,
          ErrorCode.WRONG_FIELD_TYPE,
          ErrorCode.DUPLICATE_FIELD,
          ErrorCode.INVALID_STATUS,
          ErrorCode.MESSAGE_TOO_LONG,
          ErrorCode.TOO_MANY_APPLICATION_IDS,
          ErrorCode.INVALID_APPLICATION_ID,
          ErrorCode.UNKNOWN_SESSION,
          ErrorCode.INVALID_FIELD_VALUE,
          ErrorCode.FRAME_TOO_LARGE,
          ErrorCode.INVALID_UTF8);

  private static final String[] GOLDEN = {
    "connect", "connect-minimal", "status", "status-full", "status-reordered", "register-push"
  };

  private final DeviceCodec codec = new DeviceCodec();

  /** Decodes through a pooled direct buffer, as the gateway does, and checks the outcome. */
  private void check(byte[] input, long seed) {
    ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(Math.max(1, input.length));
    try {
      b.writeBytes(input);
      try {
        DeviceMessage m = codec.decode(b);
        assertThat(m).isNotNull();
      } catch (ProtocolException e) {
        if (!FRAME_ERRORS.contains(e.code())) {
          fail("seed " + seed + ": unexpected " + e.code() + " for " + show(input));
        }
      } catch (RuntimeException e) {
        throw new AssertionError("seed " + seed + ": " + e + " for " + show(input), e);
      }
      assertThat(b.readerIndex()).isZero();
      assertThat(b.writerIndex()).isEqualTo(input.length);
    } finally {
      b.release();
    }
  }

  private static String show(byte[] input) {
    return new String(input, StandardCharsets.ISO_8859_1);
  }

  @Test
  void decode_whenEveryTruncationOfEveryGoldenFrame_thenErrnoOrMessage() {
    for (String name : GOLDEN) {
      byte[] full = DeviceFixtures.json(name).getBytes(StandardCharsets.UTF_8);
      for (int len = 0; len < full.length; len++) {
        byte[] cut = java.util.Arrays.copyOf(full, len);
        check(cut, len);
        ProtocolException e = decodeFailure(cut);
        // A truncated object is never a message.
        assertThat(e).as("%s cut at %d", name, len).isNotNull();
      }
    }
  }

  private ProtocolException decodeFailure(byte[] input) {
    try {
      codec.decode(input, 0, input.length);
      return null;
    } catch (ProtocolException e) {
      return e;
    } catch (RuntimeException e) {
      throw new AssertionError("unexpected " + e + " for " + show(input), e);
    }
  }

  @Test
  void decode_whenRandomMutations_thenErrnoOrMessage() {
    long seed = System.nanoTime();
    Random r = new Random(seed);
    for (int i = 0; i < 20_000; i++) {
      byte[] b =
          DeviceFixtures.json(GOLDEN[r.nextInt(GOLDEN.length)]).getBytes(StandardCharsets.UTF_8);
      int edits = 1 + r.nextInt(4);
      for (int e = 0; e < edits; e++) {
        int at = r.nextInt(b.length);
        switch (r.nextInt(4)) {
          case 0 -> b[at] = (byte) r.nextInt(256);
          case 1 -> b[at] = (byte) "{}[]\",:0-e.\\ntfu".charAt(r.nextInt(16));
          case 2 -> b = java.util.Arrays.copyOf(b, at);
          default -> {
            byte[] longer = new byte[b.length + 1];
            System.arraycopy(b, 0, longer, 0, at);
            longer[at] = (byte) (0x80 + r.nextInt(128));
            System.arraycopy(b, at, longer, at + 1, b.length - at);
            b = longer;
          }
        }
        if (b.length == 0) {
          break;
        }
      }
      check(b, seed);
    }
  }

  /**
   * The codec reuses one parser per thread across frames: whatever a frame left behind (a partial
   * string, number or literal after the object, a truncated object, unknown fields), the next good
   * frame decodes exactly as on a fresh codec.
   */
  @Test
  void decode_afterAnyFrame_thenTheNextGoodFrameIsUnaffected() {
    DeviceCodec fresh = new DeviceCodec();
    byte[] good = DeviceFixtures.json("status-full").getBytes(StandardCharsets.UTF_8);
    DeviceMessage expected = fresh.decode(good, 0, good.length);
    String g = DeviceFixtures.json("status");
    List<String> leftovers =
        List.of(
            g + " \"abc",
            g + " 12",
            g + " tru",
            g + " {\"a\":",
            g + " [",
            g + "\n",
            g + "   \t ",
            "{\"type\":\"conn",
            "{\"type\":\"status\",\"x\":{\"k1\":1,\"k2\":[1,2,{\"k3\":null}]},\"session_id\":\""
                + DeviceFixtures.SESSION
                + "\",\"status\":\"online\"}",
            "\"",
            "12",
            "{}",
            "{\"a\":\"\\u12\"}",
            "");
    for (String left : leftovers) {
      byte[] l = left.getBytes(StandardCharsets.UTF_8);
      decodeFailure(l);
      assertThat(codec.decode(good, 0, good.length)).as("after %s", left).isEqualTo(expected);
      assertThat(codec.decode(good, 0, good.length)).as("twice after %s", left).isEqualTo(expected);
    }
    long seed = System.nanoTime();
    Random r = new Random(seed);
    for (int i = 0; i < 5_000; i++) {
      byte[] b = new byte[r.nextInt(120)];
      r.nextBytes(b);
      if (b.length > 0) {
        b[0] = '{';
      }
      decodeFailure(b);
      assertThat(codec.decode(good, 0, good.length)).as("seed %d", seed).isEqualTo(expected);
    }
  }

  @Test
  void decode_whenRandomBytes_thenErrnoOrMessage() {
    long seed = System.nanoTime();
    Random r = new Random(seed);
    for (int i = 0; i < 5_000; i++) {
      byte[] b = new byte[r.nextInt(300)];
      r.nextBytes(b);
      if (b.length > 0 && r.nextBoolean()) {
        b[0] = '{';
      }
      check(b, seed);
    }
  }

  @Test
  void decode_whenDeepNestingAndHugeValues_thenMalformedJson() {
    List<String> hostile = new ArrayList<>();
    for (int depth : new int[] {15, 16, 17, 100, 2000}) {
      hostile.add("{\"x\":" + "[".repeat(depth) + "]".repeat(depth) + "}");
      hostile.add("{\"x\":" + "{\"a\":".repeat(depth) + "1" + "}".repeat(depth) + "}");
      hostile.add("[".repeat(depth));
    }
    hostile.add("{\"x\":" + "9".repeat(4000) + "}");
    hostile.add("{\"x\":1e999999999}");
    hostile.add("{\"x\":-0.0000000000000000000000000000001}");
    hostile.add(
        "{\"type\":\"connect\",\"assertion\":\"a\",\"application_ids\":["
            + "1,".repeat(3000)
            + "1]}");
    hostile.add("{\"" + "k".repeat(5000) + "\":1}");
    for (String h : hostile) {
      check(h.getBytes(StandardCharsets.UTF_8), 0);
    }
    // Within the depth limit, nesting in an unknown field is skipped.
    String ok =
        "{\"x\":" + "[".repeat(10) + "]".repeat(10) + ",\"type\":\"connect\",\"assertion\":\"a\"}";
    assertThat(decodeFailure(ok.getBytes(StandardCharsets.UTF_8))).isNull();
    String deep =
        "{\"x\":"
            + "[".repeat(100)
            + "]".repeat(100)
            + ",\"type\":\"connect\",\"assertion\":\"a\"}";
    assertThat(decodeFailure(deep.getBytes(StandardCharsets.UTF_8)).code())
        .isEqualTo(ErrorCode.MALFORMED_JSON);
  }
}
