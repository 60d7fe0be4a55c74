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
 */
public record WebConfig(
    String sessionSecret, Duration sessionLifetime, boolean devSignIn, OidcConfig oidc) {}
