package org.presence.protocol.json;

import io.netty.buffer.ByteBuf;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * A strict check that bytes are well-formed UTF-8, as RFC 8259 §8.1 requires of JSON exchanged
 * between systems. Jackson's byte parsers do not check this: they decode an overlong form ({@code
 * C0 BC} as {@code <}, {@code E0 80 AF} as {@code /}), a surrogate encoded in UTF-8 and a code
 * point above U+10FFFF without complaint. Every parser of client bytes therefore runs this check
 * first ({@link Json#parser} does, and so does the device codec over its copy of the frame).
 *
 * <p>Well-formed means exactly the byte sequences of Table 3-7 of the Unicode Standard:
 *
 * <pre>
 * U+0000..U+007F       00..7F
 * U+0080..U+07FF       C2..DF  80..BF
 * U+0800..U+0FFF       E0      A0..BF  80..BF
 * U+1000..U+CFFF       E1..EC  80..BF  80..BF
 * U+D000..U+D7FF       ED      80..9F  80..BF
 * U+E000..U+FFFF       EE..EF  80..BF  80..BF
 * U+10000..U+3FFFF     F0      90..BF  80..BF  80..BF
 * U+40000..U+FFFFF     F1..F3  80..BF  80..BF  80..BF
 * U+100000..U+10FFFF   F4      80..8F  80..BF  80..BF
 * </pre>
 *
 * Anything else is refused: a stray continuation byte, C0, C1 and F5..FF anywhere, an overlong
 * form, a surrogate, a code point above U+10FFFF, a sequence cut short by the end of the input.
 *
 * <h2>Why this is written by hand</h2>
 *
 * The JDK has no public check that does not decode: a {@code CharsetDecoder} with {@code REPORT} is
 * strict, but it writes every character into a {@code CharBuffer} that is then thrown away and
 * needs a {@code ByteBuffer} view of the input, which a {@link ByteBuf} allocates per call. Netty's
 * {@code ByteBufUtil.isText(buf, UTF_8)} is strict and allocates nothing, but reads one byte at a
 * time through the buffer's bounds checks. The device channel checks every frame, so this class
 * reads eight bytes at once while they are ASCII (almost every byte of a protocol frame), decodes
 * nothing and allocates nothing. Its tests compare it with the JDK's decoder on every sequence of
 * up to three bytes and on sampled longer ones.
 */
public final class Utf8 {
  /** Reads eight bytes of an array as one long; the byte order does not matter for the mask. */
  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.nativeOrder());

  /** The high bit of each of eight bytes: zero for eight ASCII bytes. */
  private static final long NON_ASCII = 0x8080808080808080L;

  private Utf8() {}

  /**
   * The index of the first byte of the first ill-formed sequence in {@code bytes} from {@code from}
   * (inclusive) to {@code to} (exclusive), or -1 when they are well-formed UTF-8.
   */
  public static int invalidAt(byte[] bytes, int from, int to) {
    int i = from;
    while (i < to) {
      if (to - i >= Long.BYTES && ((long) LONGS.get(bytes, i) & NON_ASCII) == 0) {
        i += Long.BYTES;
        continue;
      }
      int b1 = bytes[i];
      if (b1 >= 0) {
        i++;
        continue;
      }
      int n = sequence(b1 & 0xFF, at(bytes, i + 1, to), at(bytes, i + 2, to), at(bytes, i + 3, to));
      if (n == 0) {
        return i;
      }
      i += n;
    }
    return -1;
  }

  /**
   * The index of the first byte of the first ill-formed sequence in the {@code length} bytes of
   * {@code buf} from {@code index}, or -1 when they are well-formed UTF-8. Indexes are the buffer's
   * own; its reader and writer indexes are not used or moved.
   */
  public static int invalidAt(ByteBuf buf, int index, int length) {
    if (buf.hasArray()) {
      int offset = buf.arrayOffset();
      int at = invalidAt(buf.array(), offset + index, offset + index + length);
      return at < 0 ? -1 : at - offset;
    }
    int i = index;
    int to = index + length;
    while (i < to) {
      if (to - i >= Long.BYTES && (buf.getLong(i) & NON_ASCII) == 0) {
        i += Long.BYTES;
        continue;
      }
      int b1 = buf.getByte(i);
      if (b1 >= 0) {
        i++;
        continue;
      }
      int n = sequence(b1 & 0xFF, at(buf, i + 1, to), at(buf, i + 2, to), at(buf, i + 3, to));
      if (n == 0) {
        return i;
      }
      i += n;
    }
    return -1;
  }

  /**
   * What {@link #checkFragment} returns before a message's first fragment and after a fragment that
   * ends between two sequences: nothing carried.
   */
  public static final int NO_CARRY = 0;

  /** What {@link #checkFragment} returns once the bytes of a message are not UTF-8. */
  public static final int INVALID = -1;

  /**
   * Checks the {@code length} bytes of {@code buf} from {@code index} as the next fragment of one
   * text message split over frames (RFC 6455 §5.4), where a sequence may start in one fragment and
   * end in the next. {@code carry} is what the previous fragment returned ({@link #NO_CARRY} for
   * the first); the result is what this one leaves for the next (the one to three bytes of a
   * sequence it ends inside, packed in an int), {@link #NO_CARRY}, or {@link #INVALID} as soon as
   * the bytes so far cannot be the start of well-formed UTF-8. A message whose last fragment
   * returns anything but {@link #NO_CARRY} is not UTF-8 (it ends inside a sequence). Allocates
   * nothing; the buffer's indexes are not used or moved.
   */
  public static int checkFragment(int carry, ByteBuf buf, int index, int length) {
    if (carry == INVALID) {
      return INVALID;
    }
    int i = index;
    int to = index + length;
    int held = carry >>> 24;
    if (held > 0) {
      // Complete the sequence the previous fragment cut, with this one's first bytes.
      int b1 = (carry >>> 16) & 0xFF;
      int b2 = held > 1 ? (carry >>> 8) & 0xFF : at(buf, i++, to);
      int b3 = held > 2 ? carry & 0xFF : at(buf, i++, to);
      int b4 = at(buf, i, to);
      int n = sequence(b1, b2, b3, b4);
      if (n == 0) {
        return cut(b1, b2, b3, to - index + held);
      }
      i = index + n - held;
    }
    int at = invalidAt(buf, i, to - i);
    if (at < 0) {
      return NO_CARRY;
    }
    return cut(at(buf, at, to), at(buf, at + 1, to), at(buf, at + 2, to), to - at);
  }

  /**
   * The carry for the {@code n} bytes {@code b1}, {@code b2}, {@code b3} (-1 past the input) that
   * end a fragment, when they are fewer than a whole sequence and begin a well-formed one; {@link
   * #INVALID} otherwise (more bytes cannot make them well-formed).
   */
  private static int cut(int b1, int b2, int b3, int n) {
    if (n > 3 || b1 < 0xC2 || b1 > 0xF4) {
      return INVALID;
    }
    int whole = b1 < 0xE0 ? 2 : b1 < 0xF0 ? 3 : 4;
    if (n >= whole) {
      return INVALID;
    }
    if (n >= 2) {
      int low = b1 == 0xE0 ? 0xA0 : b1 == 0xF0 ? 0x90 : 0x80;
      int high = b1 == 0xED ? 0x9F : b1 == 0xF4 ? 0x8F : 0xBF;
      if (b2 < low || b2 > high || (n == 3 && !continues(b3))) {
        return INVALID;
      }
    }
    return n << 24 | b1 << 16 | (n >= 2 ? b2 << 8 : 0) | (n == 3 ? b3 : 0);
  }

  /** Whether the readable bytes of {@code buf} are well-formed UTF-8. */
  public static boolean isValid(ByteBuf buf) {
    return invalidAt(buf, buf.readerIndex(), buf.readableBytes()) < 0;
  }

  /** Whether {@code length} bytes of {@code bytes} from {@code offset} are well-formed UTF-8. */
  public static boolean isValid(byte[] bytes, int offset, int length) {
    return invalidAt(bytes, offset, offset + length) < 0;
  }

  /**
   * Refuses the readable bytes of {@code buf} unless they are well-formed UTF-8, with {@link
   * ErrorCode#MALFORMED_JSON} and the offset of the first bad byte from the reader index.
   */
  public static void check(ByteBuf buf) {
    int at = invalidAt(buf, buf.readerIndex(), buf.readableBytes());
    if (at >= 0) {
      throw invalid(at - buf.readerIndex());
    }
  }

  /**
   * Refuses {@code length} bytes of {@code bytes} from {@code offset} unless they are well-formed
   * UTF-8, with {@link ErrorCode#MALFORMED_JSON} and the offset of the first bad byte.
   */
  public static void check(byte[] bytes, int offset, int length) {
    int at = invalidAt(bytes, offset, offset + length);
    if (at >= 0) {
      throw invalid(at - offset);
    }
  }

  private static ProtocolException invalid(int offset) {
    return new ProtocolException(ErrorCode.MALFORMED_JSON, "invalid UTF-8 at byte " + offset);
  }

  /**
   * The length of the well-formed sequence that starts with lead byte {@code b1} (80..FF) followed
   * by {@code b2}, {@code b3} and {@code b4} (00..FF, or -1 past the end of the input), or 0 when
   * it is ill-formed. The ranges are those of the table above; -1 fails every range check.
   */
  private static int sequence(int b1, int b2, int b3, int b4) {
    if (b1 < 0xC2) {
      // 80..BF continue a sequence that did not start; C0 and C1 start only overlong forms.
      return 0;
    }
    if (b1 < 0xE0) {
      return continues(b2) ? 2 : 0;
    }
    if (b1 < 0xF0) {
      // After E0, 80..9F would be overlong; after ED, A0..BF would encode a surrogate.
      int low = b1 == 0xE0 ? 0xA0 : 0x80;
      int high = b1 == 0xED ? 0x9F : 0xBF;
      return b2 >= low && b2 <= high && continues(b3) ? 3 : 0;
    }
    if (b1 < 0xF5) {
      // After F0, 80..8F would be overlong; after F4, 90..BF would pass U+10FFFF.
      int low = b1 == 0xF0 ? 0x90 : 0x80;
      int high = b1 == 0xF4 ? 0x8F : 0xBF;
      return b2 >= low && b2 <= high && continues(b3) && continues(b4) ? 4 : 0;
    }
    // F5..F7 would pass U+10FFFF; F8..FF start nothing.
    return 0;
  }

  /** Whether {@code b} (00..FF, or -1) is a continuation byte, 80..BF. */
  private static boolean continues(int b) {
    return (b & 0xC0) == 0x80;
  }

  private static int at(byte[] bytes, int i, int to) {
    return i < to ? bytes[i] & 0xFF : -1;
  }

  private static int at(ByteBuf buf, int i, int to) {
    return i < to ? buf.getUnsignedByte(i) : -1;
  }
}
