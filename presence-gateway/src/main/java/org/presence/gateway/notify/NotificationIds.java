package org.presence.gateway.notify;

import java.util.Base64;
import org.presence.protocol.id.SecureRandoms;

/**
 * Makes live-notification ids: 128 random bits, base64url without padding (22 characters of {@code
 * [A-Za-z0-9_-]}). Unique across nodes without coordination, and not guessable, so a device can
 * only name notifications it was sent. Each thread draws from its own generator ({@link
 * SecureRandoms}), so that posting threads do not queue on one lock.
 */
final class NotificationIds {
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();

  private NotificationIds() {}

  /** A fresh id. */
  static String next() {
    byte[] b = new byte[16];
    SecureRandoms.current().nextBytes(b);
    return ENCODER.encodeToString(b);
  }
}
