package org.presence.gateway.net;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Arrays;
import org.presence.store.limit.ClockedBucket;

/**
 * A rate limit per client address: a Bucket4j token bucket ({@link ClockedBucket}) per client IP
 * address (as {@link ClientAddress} reads it), checked before any costly work, so a flood from one
 * address costs no signature checks and stores nothing. Buckets live in a bounded Caffeine cache
 * (key: the IPv4 address, or the /64 prefix of an IPv6 address; at most 100,000; dropped once
 * unused for as long as a bucket takes to fill again, at least a minute), so that idle addresses
 * cost nothing. Thread-safe. Each use has a limiter of its own: new device sessions ({@code
 * device.handshake-rate} and {@code handshake-burst}, checked before an assertion is verified),
 * pairing requests ({@code POST /oauth/device_authorization}, the same settings) and OpenID Connect
 * sign-in starts ({@code POST /signin/oidc}, {@code identity.oidc.start-rate} and {@code
 * start-burst}).
 */
public final class AddressRateLimiter {
  private static final int MAX_ADDRESSES = 100_000;

  private final double perSecond;
  private final int burst;
  private final Cache<InetAddress, ClockedBucket> buckets;

  /** A limiter of {@code perSecond} requests per address (0: none) in bursts of {@code burst}. */
  public AddressRateLimiter(double perSecond, int burst) {
    this.perSecond = perSecond;
    this.burst = burst;
    long refillSeconds = perSecond > 0 ? (long) Math.ceil(burst / perSecond) : 0;
    this.buckets =
        Caffeine.newBuilder()
            .maximumSize(MAX_ADDRESSES)
            .expireAfterAccess(Duration.ofSeconds(Math.min(3600, Math.max(60, refillSeconds))))
            .build();
  }

  /** Whether {@code address} may be let in at {@code nanos}; takes a token if so. */
  public boolean tryAcquire(InetAddress address, long nanos) {
    if (perSecond <= 0 || address == null) {
      return true;
    }
    return buckets
        .get(key(address), a -> new ClockedBucket(perSecond, burst, nanos))
        .tryTake(nanos);
  }

  /**
   * Whole seconds until {@code address} may be let in again at {@code nanos} (at least 1), for a
   * {@code Retry-After} after {@link #tryAcquire} refused it.
   */
  public long retryAfterSeconds(InetAddress address, long nanos) {
    ClockedBucket bucket = address == null ? null : buckets.getIfPresent(key(address));
    long wait = bucket == null ? 0 : bucket.nanosToToken(nanos);
    return Math.max(1, (wait + 999_999_999L) / 1_000_000_000L);
  }

  /**
   * The bucket's key for {@code address}: an IPv4 address itself; an IPv6 address's /64 prefix (the
   * rest zeroed), since one subscriber usually holds a whole /64 and could otherwise take a fresh
   * bucket per address.
   */
  public static InetAddress key(InetAddress address) {
    if (!(address instanceof Inet6Address)) {
      return address;
    }
    byte[] b = address.getAddress();
    Arrays.fill(b, 8, 16, (byte) 0);
    try {
      return InetAddress.getByAddress(b);
    } catch (UnknownHostException e) {
      throw new IllegalStateException("16 bytes are always an IPv6 address", e);
    }
  }
}
