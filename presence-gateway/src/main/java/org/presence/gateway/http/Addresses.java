package org.presence.gateway.http;

import java.nio.charset.StandardCharsets;
import org.presence.protocol.json.Utf8;

/**
 * Request targets (a path and its query) as the HTTP codec reads them, one char per byte: whether
 * they are UTF-8, and their text. The same strictness as a form's ({@link FormDecoder}).
 */
final class Addresses {
  private Addresses() {}

  /**
   * Whether {@code raw} is well-formed UTF-8 once its percent-escapes are decoded. Escapes that are
   * not {@code %} and two hexadecimal digits are left to the caller's decoder (it refuses them).
   */
  static boolean decodesToUtf8(String raw) {
    int i = 0;
    while (i < raw.length() && raw.charAt(i) < 0x80 && raw.charAt(i) != '%') {
      i++;
    }
    if (i == raw.length()) {
      return true; // Only an address with an escape or a byte over 0x7F needs the check.
    }
    for (; i < raw.length(); i++) {
      if (raw.charAt(i) > 0xFF) {
        return false;
      }
    }
    byte[] bytes = raw.getBytes(StandardCharsets.ISO_8859_1);
    int n = FormDecoder.unescape(bytes, 0, bytes.length, bytes, false);
    return n < 0 || Utf8.isValid(bytes, 0, n);
  }

  /**
   * {@code raw} with its bytes over 0x7F read as UTF-8, as a client that sends them unescaped means
   * them; {@code raw} itself when it has none (almost always). Check it with {@link #decodesToUtf8}
   * first.
   */
  static String nonAsciiAsUtf8(String raw) {
    for (int i = 0; i < raw.length(); i++) {
      if (raw.charAt(i) >= 0x80) {
        return new String(raw.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
      }
    }
    return raw;
  }
}
