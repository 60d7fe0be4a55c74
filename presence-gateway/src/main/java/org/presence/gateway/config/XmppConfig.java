package org.presence.gateway.config;

import java.time.Duration;

/**
 * The XMPP interface for applications (docs/xmpp.md): client-to-server XMPP on its own port, with
 * STARTTLS required and SASL PLAIN ({@code <appid>@<domain>}, the API key as password).
 *
 * @param port port to bind, or -1 when off ({@code xmpp.port = auto}: on in the embedded default
 *     only, at 5222, or a free port when {@code gateway.port} is 0); 0 picks a free one
 * @param host address to bind ({@code gateway.host} by default)
 * @param domain the XMPP domain of the JIDs ({@code <appid>@domain}, {@code <puid>@domain}); the
 *     host name by default
 * @param tlsCert PEM certificate chain file, or empty for a self-signed certificate made at start
 *     (the embedded default only)
 * @param tlsKey PEM PKCS#8 private key file of {@code tlsCert}
 * @param maxStanzaBytes most bytes of one stanza (and of the stream header); beyond, the stream
 *     ends with {@code policy-violation}
 * @param maxDepth deepest element nesting below the stream root
 * @param authTimeout how long a connection may take to authenticate and bind a resource
 * @param maxAuthFailures failed SASL attempts one connection may make before it is closed
 * @param authFailureRate failed SASL attempts per second one client address earns back
 * @param authFailureBurst failed SASL attempts one client address may make at once; beyond, its
 *     attempts are refused before the key is checked
 * @param tlsPort port for direct TLS (XEP-0368: TLS from the first byte, no STARTTLS), or -1 when
 *     off ({@code xmpp.tls-port = auto}: on in the embedded default only, at 5223, or a free port
 *     when {@code gateway.port} is 0); 0 picks a free one
 * @param resumeWindow how long after its connection ended a session can be resumed (XEP-0198), at
 *     most the update log's hour
 */
public record XmppConfig(
    int port,
    String host,
    String domain,
    String tlsCert,
    String tlsKey,
    int maxStanzaBytes,
    int maxDepth,
    Duration authTimeout,
    int maxAuthFailures,
    double authFailureRate,
    int authFailureBurst,
    int tlsPort,
    Duration resumeWindow) {

  /** Whether the node listens for XMPP. */
  public boolean enabled() {
    return port >= 0;
  }

  /** Whether the node also listens for direct TLS (XEP-0368). */
  public boolean directTls() {
    return enabled() && tlsPort >= 0;
  }

  /** Whether a self-signed certificate is made at start (no {@code xmpp.tls-cert}). */
  public boolean selfSigned() {
    return tlsCert.isEmpty();
  }
}
