package org.presence.gateway.config;

import java.time.Duration;

/**
 * TLS at the node (docs/operations.md#tls-at-the-node): the gateway port (HTTP and WebSocket) and,
 * unless {@code admin} is off, the admin port speak only TLS, with one certificate that is re-read
 * from its files while the node runs.
 *
 * @param cert PEM certificate chain file (the node's certificate first), or empty: TLS off
 * @param key PEM PKCS#8 private key file of {@code cert} (unencrypted)
 * @param reloadInterval how often both files are read again; a changed pair that loads is used by
 *     the connections opened after it, a pair that does not load is logged and the old one kept
 * @param admin whether the admin port uses TLS too (when TLS is on)
 * @param hsts whether pages carry {@code Strict-Transport-Security} when TLS is on
 */
public record TlsConfig(
    String cert, String key, Duration reloadInterval, boolean admin, boolean hsts) {

  /** Whether the node's ports speak TLS. */
  public boolean enabled() {
    return !cert.isEmpty();
  }

  /** Whether pages answered by the node send {@code Strict-Transport-Security}. */
  public boolean sendsHsts() {
    return enabled() && hsts;
  }

  /** Whether the admin port speaks TLS. */
  public boolean onAdminPort() {
    return enabled() && admin;
  }
}
