package org.presence.gateway.identity;

import java.time.Instant;
import java.util.Objects;

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
}
