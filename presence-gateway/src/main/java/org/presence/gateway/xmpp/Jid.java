package org.presence.gateway.xmpp;

/**
 * JID syntax (RFC 7622), as far as this server needs it: {@code [localpart@]domainpart[/resource]}
 * with each part 1 to 1023 bytes (UTF-8), no whitespace, control or format characters, and a
 * localpart without {@code " & ' / : < > @}.
 */
final class Jid {
  private Jid() {}

  /**
   * The JID localpart of a PUID. PUIDs are base64url, so case matters, while XMPP libraries fold
   * localparts to lower case (RFC 7622's UsernameCaseMapped profile): each upper-case letter is
   * written as {@code .} and the letter in lower case ({@code aB3-x} is {@code a.b3-x}). Base64url
   * has no {@code .}, so the mapping is reversible.
   */
  static String localpart(String puid) {
    StringBuilder s = null;
    for (int i = 0; i < puid.length(); i++) {
      char c = puid.charAt(i);
      if (c >= 'A' && c <= 'Z') {
        if (s == null) {
          s = new StringBuilder(puid.length() + 16).append(puid, 0, i);
        }
        s.append('.').append((char) (c + ('a' - 'A')));
      } else if (s != null) {
        s.append(c);
      }
    }
    return s == null ? puid : s.toString();
  }

  /** The PUID of a localpart made by {@link #localpart} (in any case), or {@code null}. */
  static String puid(String localpart) {
    StringBuilder s = new StringBuilder(localpart.length());
    for (int i = 0; i < localpart.length(); i++) {
      char c = Character.toLowerCase(localpart.charAt(i));
      if (c == '.') {
        if (++i == localpart.length()) {
          return null;
        }
        char n = Character.toLowerCase(localpart.charAt(i));
        if (n < 'a' || n > 'z') {
          return null;
        }
        s.append((char) (n - ('a' - 'A')));
      } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
        s.append(c);
      } else {
        return null;
      }
    }
    return s.length() == 0 ? null : s.toString();
  }

  /** RFC 7622 §3: each part of a JID is at most 1023 bytes (UTF-8). */
  static final int MAX_PART_BYTES = 1023;

  /**
   * Whether code point {@code c} may be in a resource this server binds: as {@link #visible(char)},
   * judged as the whole character (an unassigned or private-use supplementary one is refused).
   */
  static boolean visible(int c) {
    return c <= Character.MAX_VALUE ? visible((char) c) : visibleType(Character.getType(c));
  }

  /**
   * Whether {@code c} (a UTF-16 unit) may be in a JID part or resource this server takes: not a
   * control, format (bidirectional overrides such as U+202E, zero-width characters), separator,
   * private-use or unassigned character (RFC 7622's profiles refuse controls and ignorable code
   * points); the halves of a surrogate pair are judged as the pair's units.
   */
  static boolean visible(char c) {
    return visibleType(Character.getType(c));
  }

  private static boolean visibleType(int type) {
    return switch (type) {
      case Character.CONTROL,
          Character.FORMAT,
          Character.SPACE_SEPARATOR,
          Character.LINE_SEPARATOR,
          Character.PARAGRAPH_SEPARATOR,
          Character.PRIVATE_USE,
          Character.UNASSIGNED ->
          false;
      default -> true;
    };
  }

  /** The UTF-8 length of {@code s}. */
  static int utf8Length(String s) {
    return io.netty.buffer.ByteBufUtil.utf8Bytes(s);
  }

  static boolean valid(String jid) {
    if (jid == null || jid.isEmpty() || jid.length() > 3071 + 2) {
      return false;
    }
    int slash = jid.indexOf('/');
    String bare = slash < 0 ? jid : jid.substring(0, slash);
    if (slash >= 0 && !part(jid.substring(slash + 1), false)) {
      return false;
    }
    int at = bare.indexOf('@');
    if (at >= 0 && !part(bare.substring(0, at), true)) {
      return false;
    }
    String domain = bare.substring(at + 1);
    return part(domain, true) && !domain.startsWith(".") && !domain.endsWith(".");
  }

  private static boolean part(String p, boolean strict) {
    if (p.isEmpty() || p.length() > MAX_PART_BYTES || utf8Length(p) > MAX_PART_BYTES) {
      return false;
    }
    for (int i = 0; i < p.length(); i++) {
      char c = p.charAt(i);
      if (c <= 0x20 || c == 0x7F || Character.isWhitespace(c) || !visible(c)) {
        return false;
      }
      if (strict && "\"&'/:<>@".indexOf(c) >= 0) {
        return false;
      }
    }
    return true;
  }
}
