package org.presence.gateway.xmpp;

/** Writing XML text: escaping of attribute values and text, and XML's character range. */
final class Xml {
  private Xml() {}

  /** Appends {@code s} escaped for text and for attribute values in single or double quotes. */
  static StringBuilder escape(StringBuilder out, String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> out.append("&amp;");
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '"' -> out.append("&quot;");
        case '\'' -> out.append("&apos;");
        default -> out.append(allowed(c) ? c : '\uFFFD');
      }
    }
    return out;
  }

  /** Whether {@code c} may appear in XML 1.0 (surrogates are allowed as halves of pairs). */
  private static boolean allowed(char c) {
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xFFFD);
  }
}
