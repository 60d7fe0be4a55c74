package org.presence.gateway.config;

import java.time.Duration;

/**
 * Application registration and domain proof (wiki section 2).
 *
 * @param verifyTimeout each fetch of {@code https://<domain>/__presence} (and of {@code http://}
 *     where allowed), resolve, connect and answer, must finish within this; so must the TXT lookup
 * @param verifyMaxBytes largest body the proof fetch reads; a longer one fails the proof
 * @param maxPerDeveloper applications one developer may register
 * @param verifyOverHttp whether plain {@code http://<domain>/__presence} proves a domain as well as
 *     {@code https://} (a development setting: on its own, plain HTTP proves nothing against
 *     someone on the path)
 * @param verifyRate domain proofs one developer may ask for per second, counted across every node
 *     of a cluster (each sends up to three requests to the developer's domain)
 * @param verifyBurst domain proofs one developer may ask for at once
 */
public record AppsConfig(
    Duration verifyTimeout,
    int verifyMaxBytes,
    int maxPerDeveloper,
    boolean verifyOverHttp,
    double verifyRate,
    int verifyBurst) {
  /** HTTPS (and the TXT record) only, with the default rate of domain proofs. */
  public AppsConfig(Duration verifyTimeout, int verifyMaxBytes, int maxPerDeveloper) {
    this(verifyTimeout, verifyMaxBytes, maxPerDeveloper, false, 0.1, 5);
  }
}
