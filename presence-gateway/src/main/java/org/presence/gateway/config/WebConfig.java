package org.presence.gateway.config;

import java.time.Duration;

/**
 * The web pages' sign-in sessions.
 *
 * @param sessionSecret HMAC key that signs anti-forgery tokens, at least 32 characters; empty means
 *     a random key kept in {@code web-session.key} in the data directory (nodes behind one load
 *     balancer must share a configured secret); sessions themselves live in the database
 * @param sessionLifetime how long a page session lasts after sign-in
 * @param devSignIn whether the pages offer the development sign-in (type an email, no password); on
 *     by default only where development signing is on, no identity provider is configured and the
 *     node listens on loopback; forcing it on another address needs {@code
 *     web.dev-sign-in-on-public-address}
 * @param oidc the OpenID Connect provider people sign in with ({@code identity.oidc.*}), if any
 * @param maxSessionsPerUser page sessions one user may hold; a sign-in beyond ends the user's
 *     oldest sessions
 */
public record WebConfig(
    String sessionSecret,
    Duration sessionLifetime,
    boolean devSignIn,
    OidcConfig oidc,
    int maxSessionsPerUser) {
  /** The default number of page sessions one user may hold. */
  public static final int DEFAULT_MAX_SESSIONS_PER_USER = 20;

  /** With {@link #DEFAULT_MAX_SESSIONS_PER_USER} sessions per user. */
  public WebConfig(
      String sessionSecret, Duration sessionLifetime, boolean devSignIn, OidcConfig oidc) {
    this(sessionSecret, sessionLifetime, devSignIn, oidc, DEFAULT_MAX_SESSIONS_PER_USER);
  }
}
