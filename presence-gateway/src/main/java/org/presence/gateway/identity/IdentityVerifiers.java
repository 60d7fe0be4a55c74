package org.presence.gateway.identity;

import com.codahale.metrics.MetricRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Clock;
import org.presence.gateway.config.IdentityConfig;

/** Builds the node's {@link IdentityVerifier} from its identity settings. */
public final class IdentityVerifiers {
  private IdentityVerifiers() {}

  /**
   * The verifier for {@code config}: trusting {@code dev}'s key when development signing is on, and
   * the configured JWKS URL or file. Starts loading provider keys at once.
   */
  public static JwtIdentityVerifier create(
      IdentityConfig config, DevIdentity dev, MetricRegistry metrics, Clock clock) {
    return create(config, dev, null, metrics, clock);
  }

  /**
   * As {@link #create(IdentityConfig, DevIdentity, MetricRegistry, Clock)}, also trusting {@code
   * own} (Presence's keys for paired devices; {@code null}: none).
   */
  public static JwtIdentityVerifier create(
      IdentityConfig config,
      DevIdentity dev,
      PresenceKeys own,
      MetricRegistry metrics,
      Clock clock) {
    JwtIdentityVerifier.TrustedIssuer devIssuer =
        config.devSigning() && dev != null
            ? new JwtIdentityVerifier.TrustedIssuer(
                IdentityConfig.DEV_ISSUER, JwksSource.fixed(dev.publicKeys()))
            : null;
    JwksSource providerKeys = null;
    if (!config.jwksUrl().isEmpty()) {
      HttpClient client =
          HttpClient.newBuilder()
              .connectTimeout(config.jwksTimeout())
              .followRedirects(HttpClient.Redirect.NEVER)
              .build();
      providerKeys =
          JwksSource.url(
              URI.create(config.jwksUrl()),
              client,
              config.jwksTimeout(),
              config.jwksRefreshInterval(),
              config.jwksMinRefreshInterval(),
              clock);
    } else if (!config.jwksFile().isEmpty()) {
      providerKeys =
          JwksSource.file(
              Path.of(config.jwksFile()),
              config.jwksRefreshInterval(),
              config.jwksMinRefreshInterval(),
              clock);
    }
    JwtIdentityVerifier.TrustedIssuer provider = null;
    if (providerKeys != null) {
      providerKeys.refreshForUnknownKey();
      provider =
          new JwtIdentityVerifier.TrustedIssuer(
              config.issuer().isEmpty() ? null : config.issuer(), providerKeys);
    }
    return new JwtIdentityVerifier(
        devIssuer,
        provider,
        own == null ? null : new JwtIdentityVerifier.TrustedIssuer(PresenceKeys.ISSUER, own),
        config.audience(),
        config.clockSkew(),
        config.cacheSize(),
        clock,
        metrics);
  }
}
