package org.presence.gateway.xmpp;

import io.netty.buffer.ByteBuf;
import org.presence.protocol.json.Utf8;

/**
 * The strict UTF-8 check of {@link Utf8} over a stream that arrives in reads cut anywhere: a
 * sequence the end of one read cuts short is held (at most three bytes) and checked whole with the
 * start of the next. Aalto, which parses the XMPP stream, decodes overlong forms ({@code C0 BC} as
 * {@code <}, {@code E0 80 AF} as {@code /}) without complaint, as Jackson does; RFC 6120 §11.6
 * wants UTF-8, and XML 1.0 §4.3.3 makes bytes that are not the declared encoding a fatal error.
 */
final class Utf8Stream {
  private final byte[] held = new byte[4];
  private int holding;

  /** Forgets a held sequence: a new stream starts (after STARTTLS or SASL). */
  void reset() {
    holding = 0;
  }

  /**
   * The number of readable bytes of {@code buf} that are well-formed UTF-8 after what earlier reads
   * held, up to the first ill-formed sequence: all of them (a sequence cut short at the end is held
   * for the next read) or fewer, when the bytes from there on are not UTF-8 whatever follows.
   */
  int validPrefix(ByteBuf buf) {
    int start = buf.readerIndex();
    int end = buf.writerIndex();
    int i = start;
    if (holding > 0) {
      int need = length(held[0] & 0xFF);
      while (holding < need && i < end) {
        held[holding++] = buf.getByte(i++);
      }
      if (holding < need) {
        return couldStart(held, holding) ? end - start : 0;
      }
      holding = 0;
      if (!Utf8.isValid(held, 0, need)) {
        return 0;
      }
    }
    int at = Utf8.invalidAt(buf, i, end - i);
    if (at < 0) {
      return end - start;
    }
    int left = end - at;
    if (left < 4) {
      byte[] tail = new byte[left];
      buf.getBytes(at, tail);
      if (couldStart(tail, left)) {
        System.arraycopy(tail, 0, held, 0, left);
        holding = left;
        return end - start;
      }
    }
    return at - start;
  }

  /** The length of the sequence lead byte {@code b} (00..FF) starts, or 0 when it starts none. */
  private static int length(int b) {
    if (b < 0x80) {
      return 1;
    }
    if (b < 0xC2) {
      return 0;
    }
    if (b < 0xE0) {
      return 2;
    }
    if (b < 0xF0) {
      return 3;
    }
    return b < 0xF5 ? 4 : 0;
  }

  /**
   * Whether the {@code n} bytes of {@code prefix} start a well-formed sequence they are too short
   * to be: completed with the lowest or the highest continuation bytes (one of which every lead
   * byte's range of second bytes allows) it is well-formed.
   */
  private static boolean couldStart(byte[] prefix, int n) {
    int need = length(prefix[0] & 0xFF);
    if (n >= need) {
      return false;
    }
    byte[] low = new byte[need];
    byte[] high = new byte[need];
    System.arraycopy(prefix, 0, low, 0, n);
    System.arraycopy(prefix, 0, high, 0, n);
    for (int i = n; i < need; i++) {
      low[i] = (byte) 0x80;
      high[i] = (byte) 0xBF;
    }
    return Utf8.isValid(low, 0, need) || Utf8.isValid(high, 0, need);
  }
}
