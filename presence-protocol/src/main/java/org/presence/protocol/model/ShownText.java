package org.presence.protocol.model;

import java.util.Locale;

/**
 * The character rule for the short text applications show people as a user's presence: the custom
 * message of a device's status and the user's own messages in their settings (custom status, away
 * message); the user string an application gives a grant follows it too. One line of visible text:
 * no control characters (line feed and tab included), no line or paragraph separators (U+2028,
 * U+2029), no invisible format characters (Unicode category Cf: bidirectional overrides,
 * embeddings, isolates and marks, zero-width space, soft hyphen, byte order mark) except the
 * zero-width joiner and non-joiner (U+200D, U+200C), which emoji sequences and Persian or Indic
 * writing need, and no unpaired surrogates (a JSON string may escape one; no UTF-8 text can hold
 * it). docs/device-protocol.md, "status".
 */
public final class ShownText {
  private ShownText() {}

  /**
   * What is wrong with {@code chars[offset, offset + length)}: a reason naming the first character
   * refused ({@code "control character U+0007"}), or {@code null} when the text may be shown.
   */
  public static String problem(char[] chars, int offset, int length) {
    int end = offset + length;
    for (int i = offset; i < end; i++) {
      char c = chars[i];
      if (c < 0x20 || (c >= 0x7f && c < 0xa0)) {
        return "control character U+" + hex(c);
      }
      if (c < 0xad) {
        // Printable ASCII and Latin-1: the common case, one comparison.
        continue;
      }
      if (Character.isSurrogate(c)) {
        if (Character.isHighSurrogate(c) && i + 1 < end && Character.isLowSurrogate(chars[i + 1])) {
          // A pair: a supplementary character (emoji, their tags), always allowed.
          i++;
          continue;
        }
        return "unpaired surrogate U+" + hex(c);
      }
      if (c == '\u2028' || c == '\u2029') {
        return "line separator U+" + hex(c);
      }
      if (Character.getType(c) == Character.FORMAT && c != '\u200c' && c != '\u200d') {
        return "invisible format character U+" + hex(c);
      }
    }
    return null;
  }

  /** {@link #problem(char[], int, int)} of all of {@code s}. */
  public static String problem(String s) {
    return problem(s.toCharArray(), 0, s.length());
  }

  private static String hex(char c) {
    return String.format(Locale.ROOT, "%04X", (int) c);
  }
}
