package org.presence.gateway.config;

import java.time.Duration;
import java.util.List;

/**
 * The node's network face.
 *
 * @param host address to bind ({@code 127.0.0.1} by default; {@code 0.0.0.0} for all)
 * @param port port to bind; 0 picks a free one (tests)
 * @param publicUrl how clients reach this node ({@code http://host:port} when empty); used in pages
 * @param ioThreads Netty I/O threads; 0 means Netty's default (twice the cores)
 * @param transport Netty's transport: {@code auto} (epoll where it works, else NIO), {@code
 *     io_uring}, {@code epoll} or {@code nio}
 * @param drainTimeout how long SIGTERM waits for clients to leave before closing the rest
 * @param writeBufferLow outbound bytes under which a channel becomes writable again
 * @param writeBufferHigh outbound bytes over which a channel stops being writable
 * @param httpIdleTimeout an HTTP connection with no request for this long is closed
 * @param httpHeaderTimeout a request's header block must be complete this long after the accept (or
 *     the TLS handshake) for a connection's first request, after its first byte for a later one;
 *     else 408 and the connection is closed (just closed when no byte came)
 * @param trustedProxies addresses and CIDR blocks of the proxies whose {@code X-Forwarded-For} is
 *     believed (validated; empty: nobody's, the client is the TCP peer)
 * @param unwritableTimeout a connection that stays unwritable (over {@code writeBufferHigh}) this
 *     long is closed with {@code SLOW_CONSUMER}; its reads are paused meanwhile
 * @param maxPendingConnectionsPerAddress most connections one TCP peer address (an IPv6 /64) may
 *     hold open that are not yet an authenticated session (0: no cap)
 * @param maxConnectionsPerAddress most connections one TCP peer address may hold open (0: no cap)
 * @param maxPendingConnections most connections the node holds open that are not yet an
 *     authenticated session, from all counted addresses together (0: no cap)
 * @param connectionCapExempt addresses and CIDR blocks whose connections the per-address caps do
 *     not count (validated; the trusted proxies are not counted either)
 * @param closeLinger how long a WebSocket the node ends keeps reading (and dropping) what the
 *     client still sends, after its error and close frames, waiting for the client's close frame
 * @param httpBodyTimeout a request's body must be complete this long after the end of its header;
 *     else 408 and the connection is closed
 * @param maxBodyBytesInFlight most bytes of request bodies the node aggregates at once, from all
 *     connections together (announced lengths, chunks as they arrive); a request that would pass it
 *     is answered 503 ({@code SERVER_BUSY}) with {@code Retry-After} and its connection closed
 */
public record GatewayConfig(
    String host,
    int port,
    String publicUrl,
    int ioThreads,
    String transport,
    Duration drainTimeout,
    int writeBufferLow,
    int writeBufferHigh,
    Duration httpIdleTimeout,
    Duration httpHeaderTimeout,
    List<String> trustedProxies,
    Duration unwritableTimeout,
    Duration closeLinger,
    int maxPendingConnectionsPerAddress,
    int maxConnectionsPerAddress,
    int maxPendingConnections,
    List<String> connectionCapExempt,
    Duration httpBodyTimeout,
    long maxBodyBytesInFlight) {

  public GatewayConfig {
    trustedProxies = List.copyOf(trustedProxies);
    connectionCapExempt = List.copyOf(connectionCapExempt);
  }

  /**
   * The URL clients use to reach this node, without a trailing slash: {@code publicUrl}, else
   * {@code http://host:port} ({@code https://} when the port speaks TLS).
   */
  public String baseUrl(int boundPort, boolean tls) {
    if (!publicUrl.isEmpty()) {
      return publicUrl.endsWith("/") ? publicUrl.substring(0, publicUrl.length() - 1) : publicUrl;
    }
    return boundUrl(boundPort, tls);
  }

  /**
   * The URL of the address the node binds, whatever {@code public-url} says (the wildcard address
   * as loopback), for the start-up lines.
   */
  public String boundUrl(int boundPort, boolean tls) {
    String h = host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host;
    return (tls ? "https://" : "http://")
        + (h.indexOf(':') >= 0 ? "[" + h + "]" : h)
        + ":"
        + boundPort;
  }
}
