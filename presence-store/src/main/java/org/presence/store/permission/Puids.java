package org.presence.store.permission;

import java.util.Base64;
import org.presence.protocol.id.SecureRandoms;

/**
 * Makes PUIDs: 256 random bits from {@link SecureRandoms}, base64url without padding (43
 * characters). Nothing about the user or the application goes in, so PUIDs of one user at two
 * applications cannot be linked.
 */
public final class Puids {
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();

  private Puids() {}

  /** A fresh PUID. */
  public static String generate() {
    byte[] bytes = new byte[32];
    SecureRandoms.current().nextBytes(bytes);
    return ENCODER.encodeToString(bytes);
  }

  /**
   * Whether {@code s} has the form of a PUID: 43 base64url characters. A string that has not can
   * name no grant, so it is unknown without a lookup (and its characters, a NUL say, never reach
   * the database).
   */
  public static boolean wellFormed(String s) {
    if (s == null || s.length() != 43) {
      return false;
    }
    for (int i = 0; i < 43; i++) {
      char c = s.charAt(i);
      if (!((c >= 'a' && c <= 'z')
          || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9')
          || c == '_'
          || c == '-')) {
        return false;
      }
    }
    return true;
  }
}
