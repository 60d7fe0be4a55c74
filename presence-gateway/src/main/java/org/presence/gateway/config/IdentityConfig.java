package org.presence.gateway.config;

import java.time.Duration;

/**
 * How identity tokens (signed JWT assertions) are checked and, on one machine, made.
 *
 * @param devSigning whether this node makes and trusts its own development signing key (in the data
 *     directory); on by default only for the embedded store with no identity provider configured on
 *     a loopback {@code gateway.host}, never in a cluster unless set
 * @param jwksUrl URL of the identity provider's JSON Web Key Set, or empty
 * @param jwksFile path of a JWKS file, or empty
 * @param issuer required {@code iss} claim, or empty for any
 * @param audience required {@code aud} claim
 * @param clockSkew tolerance when checking {@code exp} and {@code nbf}
 * @param devTokenLifetime lifetime of tokens made by {@code presence dev-token}
 * @param jwksRefreshInterval a provider key set older than this is refreshed in the background
 * @param jwksMinRefreshInterval key sets are never fetched more often than this, whatever tokens
 *     arrive (unknown key ids trigger a refresh)
 * @param jwksTimeout how long a JWKS fetch may take
 * @param cacheSize most verified tokens kept in memory (each until it expires)
 */
public record IdentityConfig(
    boolean devSigning,
    String jwksUrl,
    String jwksFile,
    String issuer,
    String audience,
    Duration clockSkew,
    Duration devTokenLifetime,
    Duration jwksRefreshInterval,
    Duration jwksMinRefreshInterval,
    Duration jwksTimeout,
    int cacheSize) {

  /** The {@code iss} of development tokens. */
  public static final String DEV_ISSUER = "presence-dev";
}
