package org.presence.gateway.config;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Which addresses the node may connect to when it fetches a URL a developer gave it (the domain
 * proof, webhooks), and how it finds and trusts them. Private, loopback and link-local targets are
 * refused unless allowed here, so that a developer cannot make the node reach into its own network;
 * every other non-global address is always refused.
 *
 * @param allowLoopback allow 127.0.0.0/8 and ::1 (on by default only for the embedded store with no
 *     identity provider on a loopback {@code gateway.host}, so that the whole flow can be tried on
 *     one machine)
 * @param allowPrivate allow RFC 1918, unique-local (fc00::/7), shared (100.64.0.0/10) and other
 *     non-public ranges
 * @param allowLinkLocal allow 169.254.0.0/16 and fe80::/10 (where cloud metadata services live)
 * @param connectTimeout how long one TCP connect may take
 * @param maxRedirects redirects followed, and only to the same host
 * @param dnsServers the name servers asked (asynchronously), or empty for the system's ({@code
 *     /etc/resolv.conf})
 * @param dnsTimeout how long one DNS query may take before it fails (a silent name server costs its
 *     own lookups this, and nobody else anything)
 * @param trustFile PEM certificates trusted for HTTPS instead of the JDK's trust store, or null for
 *     the JDK's
 */
public record OutboundConfig(
    boolean allowLoopback,
    boolean allowPrivate,
    boolean allowLinkLocal,
    Duration connectTimeout,
    int maxRedirects,
    List<InetSocketAddress> dnsServers,
    Duration dnsTimeout,
    Path trustFile) {
  /** The default DNS query timeout. */
  public static final Duration DEFAULT_DNS_TIMEOUT = Duration.ofSeconds(5);

  public OutboundConfig {
    dnsServers = List.copyOf(dnsServers);
  }

  /** The system's name servers, the default DNS timeout and the JDK's trust store. */
  public OutboundConfig(
      boolean allowLoopback,
      boolean allowPrivate,
      boolean allowLinkLocal,
      Duration connectTimeout,
      int maxRedirects) {
    this(
        allowLoopback,
        allowPrivate,
        allowLinkLocal,
        connectTimeout,
        maxRedirects,
        List.of(),
        DEFAULT_DNS_TIMEOUT,
        null);
  }
}
