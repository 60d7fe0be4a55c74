package org.presence.gateway.config;

import java.time.Duration;
import java.util.List;

/**
 * Sign-in for people through an OpenID Connect provider ({@code identity.oidc.*}): the
 * authorization code flow with PKCE, found by discovery from the issuer.
 *
 * @param issuer the provider's issuer URL ({@code /.well-known/openid-configuration} is read from
 *     it), or empty when the pages use no provider
 * @param clientId this node's client id at the provider
 * @param clientSecret its client secret (sent with HTTP Basic to the token endpoint)
 * @param scopes scopes asked for; always includes {@code openid}
 * @param timeout how long one call to the provider (discovery, token, keys) may take
 * @param loginLifetime how long a started sign-in may take before its {@code state} expires
 * @param startRate sign-in starts ({@code POST /signin/oidc}, each stores a row) allowed per client
 *     address per second (0: no limit)
 * @param startBurst how many starts one address may make at once
 */
public record OidcConfig(
    String issuer,
    String clientId,
    String clientSecret,
    List<String> scopes,
    Duration timeout,
    Duration loginLifetime,
    double startRate,
    int startBurst) {

  /** Whether a provider is configured. */
  public boolean enabled() {
    return !issuer.isEmpty();
  }
}
