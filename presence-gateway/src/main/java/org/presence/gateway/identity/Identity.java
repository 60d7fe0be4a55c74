package org.presence.gateway.identity;

import java.time.Instant;
import java.util.Objects;

/**
 * Who a verified identity token says its bearer is.
 *
 * @param subject the user: the token's {@code sub} claim, stable per account
 * @param email the {@code email} claim, for display only (never an identifier); may be empty
 * @param expiresAt when the token stops being valid
 */
public record Identity(String subject, String email, Instant expiresAt) {
  public Identity {
    Objects.requireNonNull(subject, "subject");
    Objects.requireNonNull(email, "email");
    Objects.requireNonNull(expiresAt, "expiresAt");
  }
}
