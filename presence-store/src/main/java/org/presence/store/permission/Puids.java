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
}
