package org.presence.store.permission;

import java.security.SecureRandom;
import java.util.Base64;

/**
 * Makes PUIDs: 256 random bits from a {@link SecureRandom}, base64url without padding (43
 * characters). Nothing about the user or the application goes in, so PUIDs of one user at two
 * applications cannot be linked.
 */
public final class Puids {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();

  private Puids() {}

  /** A fresh PUID. */
  public static String generate() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return ENCODER.encodeToString(bytes);
  }
}
