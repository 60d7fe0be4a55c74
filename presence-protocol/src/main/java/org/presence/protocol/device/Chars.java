package org.presence.protocol.device;

import java.util.UUID;
import org.presence.protocol.model.PresenceStatus;

/** Allocation-free helpers for the codec: comparing and parsing Jackson's character buffers. */
final class Chars {
  private static final PresenceStatus[] STATUSES = PresenceStatus.values();
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
    if (length != 36) {
      return null;
    }
    long msb = 0;
    long lsb = 0;
    int digits = 0;
    for (int i = 0; i < 36; i++) {
      char c = chars[offset + i];
      if (i == 8 || i == 13 || i == 18 || i == 23) {
        if (c != '-') {
          return null;
        }
        continue;
      }
      int v = hex(c);
      if (v < 0) {
        return null;
      }
      if (digits < 16) {
        msb = (msb << 4) | v;
      } else {
        lsb = (lsb << 4) | v;
      }
      digits++;
    }
    return new UUID(msb, lsb);
  }

  private static int hex(char c) {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
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
