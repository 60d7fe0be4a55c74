package org.presence.gateway.connection;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.net.AddressRateLimiter;
import org.presence.gateway.net.TrustedProxies;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The caps on how many connections one client address holds open on the gateway port (and the XMPP
 * ports) at once: {@code gateway.max-pending-connections-per-address} on those not yet an
 * authenticated session (HTTP connections, and WebSockets before their session is open), and {@code
 * gateway.max-connections-per-address} on all of them; and the node-wide cap on those not yet an
 * authenticated session from all addresses together, {@code gateway.max-pending-connections} (0: no
 * cap, each). The address is the TCP peer's (an IPv4 address, or an IPv6 address's /64, as {@link
 * AddressRateLimiter#key} keys it): at the accept no {@code X-Forwarded-For} has been read. Peers
 * in {@code gateway.connection-cap-exempt} or in {@code gateway.trusted-proxies} are not counted,
 * by any of the three.
 *
 * <p>A connection over a cap is closed by the initializer before any handler is added (no TLS
 * handshake, no HTTP decoding), counted in {@code presence.connections.refused.<cap>}, and logged
 * at WARN at most once a minute for the node, with how many more were refused since. The node's
 * pending count and the number of counted addresses are gauges ({@link #PENDING_GAUGE}, {@link
 * #ADDRESSES_GAUGE}), so an operator sees how near the node is to its cap before it refuses.
 *
 * <p>Counts live in a map entry per address that has connections open, changed only inside {@link
 * ConcurrentHashMap#compute} (so that connects and closes on several event loops count exactly) and
 * removed when its last connection closes. The node's pending count is one atomic integer, taken
 * inside the address's {@code compute} (after the address's caps let the connection in, so that
 * nothing is taken back) and given back with the address's. Each counted connection holds a {@link
 * Slot}, kept by its {@link Backpressure} (and passed on with it when a session handler takes
 * over), which gives the slot back at {@code channelInactive}. Thread-safe.
 */
public final class AddressCaps {
  private static final Logger LOG = LoggerFactory.getLogger(AddressCaps.class);

  /**
   * The gauge of counted connections not yet an authenticated session, from all addresses (what
   * {@code gateway.max-pending-connections} caps); exported as {@code
   * presence_connections_pending}.
   */
  public static final String PENDING_GAUGE = "presence.connections.pending";

  /**
   * The gauge of addresses with counted connections open ({@code presence_connections_addresses}).
   */
  public static final String ADDRESSES_GAUGE = "presence.connections.addresses";

  /** What {@link #open} answers for a connection over a cap: close it. */
  public static final Slot REFUSED = new Slot(null, null);

  private static final int OVER_PENDING = 1;
  private static final int OVER_OPEN = 2;
  private static final int OVER_NODE_PENDING = 3;

  private static final long LOG_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);

  /** Open and pending connections of one address; changed only inside {@code compute}. */
  private static final class Count {
    int open;
    int pending;
  }

  private final int maxPending;
  private final int maxOpen;
  private final int maxNodePending;
  private final TrustedProxies exempt;
  private final TrustedProxies proxies;
  private final ConcurrentHashMap<InetAddress, Count> counts = new ConcurrentHashMap<>();
  private final Counter refusedPending;
  private final Counter refusedOpen;
  private final Counter refusedNodePending;

  /** Counted connections not yet an authenticated session, from all addresses. */
  private final AtomicInteger nodePending = new AtomicInteger();

  private final AtomicLong nextLog = new AtomicLong(System.nanoTime());
  private final LongAdder unlogged = new LongAdder();

  /**
   * @param maxPending most connections per address not yet an authenticated session (0: no cap)
   * @param maxOpen most connections per address (0: no cap)
   * @param maxNodePending most connections not yet an authenticated session from all (counted)
   *     addresses together (0: no cap)
   * @param exempt peers not counted ({@code gateway.connection-cap-exempt})
   * @param proxies the trusted proxies, not counted either: their connections carry many clients
   */
  public AddressCaps(
      int maxPending,
      int maxOpen,
      int maxNodePending,
      TrustedProxies exempt,
      TrustedProxies proxies,
      GatewayMetrics metrics) {
    this.maxPending = maxPending;
    this.maxOpen = maxOpen;
    this.maxNodePending = maxNodePending;
    this.exempt = exempt;
    this.proxies = proxies;
    this.refusedPending = metrics.connectionsRefused("pending");
    this.refusedOpen = metrics.connectionsRefused("open");
    this.refusedNodePending = metrics.connectionsRefused("node_pending");
    metrics.registry().register(PENDING_GAUGE, (Gauge<Integer>) nodePending::get);
    metrics.registry().register(ADDRESSES_GAUGE, (Gauge<Integer>) counts::size);
  }

  /**
   * Counts a connection accepted from {@code remote}: its slot, {@code null} when it is not counted
   * (no cap, an exempt peer), or {@link #REFUSED} when it is over a cap (then nothing is counted).
   */
  public Slot open(SocketAddress remote) {
    if ((maxPending == 0 && maxOpen == 0 && maxNodePending == 0)
        || !(remote instanceof InetSocketAddress peer)
        || peer.getAddress() == null
        || exempt.trusts(peer.getAddress())
        || proxies.trusts(peer.getAddress())) {
      return null;
    }
    InetAddress key = AddressRateLimiter.key(peer.getAddress());
    // 0: counted; else the cap it is over, decided under the entry's lock.
    int[] over = new int[1];
    counts.compute(
        key,
        (k, n) -> {
          Count now = n == null ? new Count() : n;
          if (maxOpen != 0 && now.open >= maxOpen) {
            over[0] = OVER_OPEN;
          } else if (maxPending != 0 && now.pending >= maxPending) {
            over[0] = OVER_PENDING;
          } else if (!takeNodePending()) {
            over[0] = OVER_NODE_PENDING;
          } else {
            now.open++;
            now.pending++;
          }
          return now.open == 0 ? null : now;
        });
    if (over[0] == 0) {
      return new Slot(this, key);
    }
    switch (over[0]) {
      case OVER_OPEN -> refusedOpen.inc();
      case OVER_PENDING -> refusedPending.inc();
      default -> refusedNodePending.inc();
    }
    logRefusal(key, over[0]);
    return REFUSED;
  }

  /**
   * Takes a place in the node's pending count, unless it is at {@code
   * gateway.max-pending-connections} (never over it, however many event loops take at once).
   */
  private boolean takeNodePending() {
    while (true) {
      int n = nodePending.get();
      if (maxNodePending != 0 && n >= maxNodePending) {
        return false;
      }
      if (nodePending.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  private void logRefusal(InetAddress key, int over) {
    long now = System.nanoTime();
    long next = nextLog.get();
    if (now - next < 0 || !nextLog.compareAndSet(next, now + LOG_EVERY_NANOS)) {
      unlogged.increment();
      return;
    }
    long more = unlogged.sumThenReset();
    String why =
        switch (over) {
          case OVER_OPEN ->
              "the most connections open from it (gateway.max-connections-per-address "
                  + maxOpen
                  + ")";
          case OVER_PENDING ->
              "the most not yet authenticated connections open from it"
                  + " (gateway.max-pending-connections-per-address "
                  + maxPending
                  + ")";
          default ->
              "the most not yet authenticated connections open on the node, from all addresses"
                  + " (gateway.max-pending-connections "
                  + maxNodePending
                  + ")";
        };
    LOG.warn(
        "connection from {} refused: {}; {} more refused in the last minute",
        key.getHostAddress(),
        why,
        more);
  }

  /** Connections open from {@code address}'s key, counted (for tests). */
  public int open(InetAddress address) {
    Count c = counts.get(AddressRateLimiter.key(address));
    return c == null ? 0 : c.open;
  }

  /** Of those, connections not yet an authenticated session (for tests). */
  public int pending(InetAddress address) {
    Count c = counts.get(AddressRateLimiter.key(address));
    return c == null ? 0 : c.pending;
  }

  /** Connections not yet an authenticated session from all counted addresses (for tests). */
  public int pendingOnNode() {
    return nodePending.get();
  }

  /** Addresses with connections counted now. */
  public int addresses() {
    return counts.size();
  }

  private void authenticated(InetAddress key) {
    counts.computeIfPresent(
        key,
        (k, n) -> {
          n.pending--;
          nodePending.decrementAndGet();
          return n;
        });
  }

  private void closed(InetAddress key, boolean pending) {
    counts.computeIfPresent(
        key,
        (k, n) -> {
          n.open--;
          if (pending) {
            n.pending--;
            nodePending.decrementAndGet();
          }
          return n.open == 0 ? null : n;
        });
  }

  /**
   * A counted connection's place in its address's counts. Used on the connection's event loop only.
   */
  public static final class Slot {
    private final AddressCaps caps;
    private final InetAddress key;
    private boolean pending = true;
    private boolean closed;

    private Slot(AddressCaps caps, InetAddress key) {
      this.caps = caps;
      this.key = key;
    }

    /** The connection is an authenticated session now: it leaves the pending count. */
    void authenticated() {
      if (pending && !closed) {
        pending = false;
        caps.authenticated(key);
      }
    }

    /** The connection closed: it leaves the counts (once). */
    void closed() {
      if (!closed) {
        closed = true;
        caps.closed(key, pending);
      }
    }
  }
}
