package org.presence.protocol.device;

import java.util.UUID;
import org.presence.protocol.model.PresenceStatus;

/** Allocation-free helpers for the codec: comparing and parsing Jackson's character buffers. */
final class Chars {
  private static final PresenceStatus[] STATUSES = PresenceStatus.values();

  /** Hex digit values by character (below 128); -1 for anything else. */
  private static final byte[] HEX = new byte[128];

  static {
    java.util.Arrays.fill(HEX, (byte) -1);
    for (int i = 0; i < 10; i++) {
      HEX['0' + i] = (byte) i;
    }
    for (int i = 0; i < 6; i++) {
      HEX['a' + i] = (byte) (10 + i);
      HEX['A' + i] = (byte) (10 + i);
    }
  }

  private static final char[][] STATUS_CHARS = new char[STATUSES.length][];

  static {
    for (int i = 0; i < STATUSES.length; i++) {
      STATUS_CHARS[i] = STATUSES[i].wireName().toCharArray();
    }
  }

  private Chars() {}

  static boolean equal(char[] expected, char[] chars, int offset, int length) {
    if (expected.length != length) {
      return false;
    }
    for (int i = 0; i < length; i++) {
      if (expected[i] != chars[offset + i]) {
        return false;
      }
    }
    return true;
  }

  /** The status spelled by the slice, or {@code null}. */
  static PresenceStatus status(char[] chars, int offset, int length) {
    for (int i = 0; i < STATUSES.length; i++) {
      if (equal(STATUS_CHARS[i], chars, offset, length)) {
        return STATUSES[i];
      }
    }
    return null;
  }

  /**
   * The UUID spelled in canonical form ({@code 8-4-4-4-12} hex digits, either case) by the slice,
   * or {@code null}.
   */
  static UUID uuid(char[] chars, int offset, int length) {
    if (length != 36
        || chars[offset + 8] != '-'
        || chars[offset + 13] != '-'
        || chars[offset + 18] != '-'
        || chars[offset + 23] != '-') {
      return null;
    }
    long h1 = hex(chars, offset, 8);
    long h2 = hex(chars, offset + 9, 4);
    long h3 = hex(chars, offset + 14, 4);
    long h4 = hex(chars, offset + 19, 4);
    long h5 = hex(chars, offset + 24, 12);
    if ((h1 | h2 | h3 | h4 | h5) < 0) {
      return null;
    }
    return new UUID((h1 << 32) | (h2 << 16) | h3, (h4 << 48) | h5);
  }

  /** The value of {@code n} hex digits at {@code offset}, or -1 if one is not a hex digit. */
  private static long hex(char[] chars, int offset, int n) {
    long v = 0;
    for (int i = 0; i < n; i++) {
      char c = chars[offset + i];
      int d = c < 128 ? HEX[c] : -1;
      if (d < 0) {
        return -1;
      }
      v = (v << 4) | d;
    }
    return v;
  }

  /**
   * Whether the slice is an identifier of 1 to {@code maxLength} characters from {@code
   * [A-Za-z0-9._:-]}: the form of device ids and push presence ids.
   */
  static boolean identifier(char[] chars, int offset, int length, int maxLength) {
    if (length < 1 || length > maxLength) {
      return false;
    }
    for (int i = 0; i < length; i++) {
      char c = chars[offset + i];
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '.'
              || c == '_'
              || c == ':'
              || c == '-';
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  /** Whether {@code s} is an identifier as {@link #identifier(char[], int, int, int)} says. */
  static boolean identifier(String s, int maxLength) {
    return s != null && identifier(s.toCharArray(), 0, s.length(), maxLength);
  }
}
