package org.presence.gateway.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class AddressRateLimiterTest {
  private static InetAddress ip(String s) throws Exception {
    return InetAddress.getByName(s);
  }

  @Test
  void ipv6_addressesOfOne64_shareABucket() throws Exception {
    AddressRateLimiter limiter = new AddressRateLimiter(0.001, 1);
    long now = 1_000_000_000L;
    assertThat(limiter.tryAcquire(ip("2001:db8:0:1::1"), now)).isTrue();
    // Another address of the same /64 (a client rotating its interface id) has no fresh bucket.
    assertThat(limiter.tryAcquire(ip("2001:db8:0:1:ffff:ffff:ffff:fffe"), now)).isFalse();
    assertThat(limiter.tryAcquire(ip("::1"), now)).isTrue();
    assertThat(limiter.tryAcquire(ip("::2"), now)).isFalse();
    // The next /64 is someone else.
    assertThat(limiter.tryAcquire(ip("2001:db8:0:2::1"), now)).isTrue();
  }

  @Test
  void ipv4_addressesKeepTheirOwnBuckets() throws Exception {
    AddressRateLimiter limiter = new AddressRateLimiter(0.001, 1);
    long now = 1_000_000_000L;
    assertThat(limiter.tryAcquire(ip("10.0.0.1"), now)).isTrue();
    assertThat(limiter.tryAcquire(ip("10.0.0.1"), now)).isFalse();
    assertThat(limiter.tryAcquire(ip("10.0.0.2"), now)).isTrue();
    // An IPv4-mapped IPv6 address is the IPv4 address.
    assertThat(limiter.tryAcquire(ip("::ffff:10.0.0.2"), now)).isFalse();
  }

  @Test
  void key_zeroesTheInterfaceIdOfIpv6Only() throws Exception {
    assertThat(AddressRateLimiter.key(ip("2001:db8:1:2:3:4:5:6"))).isEqualTo(ip("2001:db8:1:2::"));
    assertThat(AddressRateLimiter.key(ip("192.0.2.7"))).isEqualTo(ip("192.0.2.7"));
  }
}
