package org.presence.gateway.device;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Arrays;

/**
 * The per-address limit on new device sessions: a token bucket per client IP address, checked
 * before an assertion is verified, so a flood of connects from one address costs no signature
 * checks. Buckets live in a bounded Caffeine cache (key: the IPv4 address, or the /64 prefix of an
 * IPv6 address; at most 100,000; dropped once unused for as long as a bucket takes to fill again,
 * at least a minute), so that idle addresses cost nothing. Thread-safe. Pairing requests ({@code
 * POST /oauth/device_authorization}) are limited by a limiter of their own with the same settings.
 */
public final class HandshakeLimiter {
  private static final int MAX_ADDRESSES = 100_000;

  private final double perSecond;
  private final int burst;
  private final Cache<InetAddress, Bucket> buckets;

  /** A limiter of {@code perSecond} connects per address (0: none) in bursts of {@code burst}. */
  public HandshakeLimiter(double perSecond, int burst) {
    this.perSecond = perSecond;
    this.burst = burst;
    long refillSeconds = perSecond > 0 ? (long) Math.ceil(burst / perSecond) : 0;
    this.buckets =
        Caffeine.newBuilder()
            .maximumSize(MAX_ADDRESSES)
            .expireAfterAccess(Duration.ofSeconds(Math.min(3600, Math.max(60, refillSeconds))))
            .build();
  }

  /** Whether {@code address} may open a session at {@code nanos}; takes a token if so. */
  public boolean tryAcquire(InetAddress address, long nanos) {
    if (perSecond <= 0 || address == null) {
      return true;
    }
    Bucket b = buckets.get(key(address), a -> new Bucket(burst, nanos));
    synchronized (b) {
      double refill = (nanos - b.refilledAt) * perSecond / 1e9;
      if (refill > 0) {
        b.tokens = Math.min(burst, b.tokens + refill);
        b.refilledAt = nanos;
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return true;
      }
      return false;
    }
  }

  /**
   * The bucket's key for {@code address}: an IPv4 address itself; an IPv6 address's /64 prefix (the
   * rest zeroed), since one subscriber usually holds a whole /64 and could otherwise take a fresh
   * bucket per address.
   */
  static InetAddress key(InetAddress address) {
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

  private static final class Bucket {
    double tokens;
    long refilledAt;

    Bucket(double tokens, long refilledAt) {
      this.tokens = tokens;
      this.refilledAt = refilledAt;
    }
  }
}
