package org.presence.gateway.config;

import java.time.Duration;

/**
 * Which addresses the node may connect to when it fetches a URL a developer gave it (the domain
 * proof, webhooks). Private, loopback and link-local targets are refused unless allowed here, so
 * that a developer cannot make the node reach into its own network. Unspecified, multicast and
 * broadcast addresses are always refused.
 *
 * @param allowLoopback allow 127.0.0.0/8 and ::1 (on by default only for the embedded store with
 *     no identity provider on a loopback {@code gateway.host}, so that the whole flow can be tried
 *     on one machine)
 * @param allowPrivate allow RFC 1918, unique-local (fc00::/7), shared (100.64.0.0/10) and other
 *     non-public ranges
 * @param allowLinkLocal allow 169.254.0.0/16 and fe80::/10 (where cloud metadata services live)
 * @param connectTimeout how long one TCP connect may take
 * @param maxRedirects redirects followed, and only to the same host
 */
public record OutboundConfig(
    boolean allowLoopback,
    boolean allowPrivate,
    boolean allowLinkLocal,
    Duration connectTimeout,
    int maxRedirects) {}
