package org.presence.gateway.identity;

import java.time.Instant;
import java.util.Objects;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * Who a verified identity token says its bearer is.
 *
 * @param subject the user: the token's {@code sub} claim, stable per account
 * @param email the {@code email} claim, for display only (never an identifier); may be empty
 * @param expiresAt when the token stops being valid
 * @param pairedDevice the paired device a token of Presence's own was issued to ({@link
 *     PresenceKeys#DEVICE_CLAIM}), or empty for any other token
 */
public record Identity(String subject, String email, Instant expiresAt, String pairedDevice) {
  /** Why a paired device's token is refused anywhere but on the device channel. */
  public static final String DEVICE_ONLY =
      "a paired device's token works only on the device channel";

  public Identity {
    Objects.requireNonNull(subject, "subject");
    Objects.requireNonNull(email, "email");
    Objects.requireNonNull(expiresAt, "expiresAt");
    Objects.requireNonNull(pairedDevice, "pairedDevice");
  }

  /** An identity from a token not issued to a paired device. */
  public Identity(String subject, String email, Instant expiresAt) {
    this(subject, email, expiresAt, "");
  }

  /**
   * Whether the token is a paired device's credential (one of Presence's own tokens, naming its
   * device): it works only where a device uses it, the device channel (and the device's read of its
   * settings), never as the account's credential.
   */
  public boolean deviceCredential() {
    return !pairedDevice.isEmpty();
  }

  /**
   * This identity where the whole account's credential is needed (the JSON API, the sign-in page's
   * token form); a {@linkplain #deviceCredential paired device's token} fails with {@code
   * UNAUTHORIZED} ({@value #DEVICE_ONLY}).
   */
  public Identity requireAccountCredential() {
    if (deviceCredential()) {
      throw new ProtocolException(ErrorCode.UNAUTHORIZED, DEVICE_ONLY);
    }
    return this;
  }
}
