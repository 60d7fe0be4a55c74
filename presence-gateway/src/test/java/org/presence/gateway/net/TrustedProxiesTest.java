package org.presence.gateway.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.NetUtil;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class TrustedProxiesTest {
  private static final TrustedProxies LB =
      TrustedProxies.parse(List.of("10.0.0.5", "10.1.0.0/16", "fd00::/8", "2001:db8:1::7"));

  private static InetAddress ip(String s) {
    InetAddress a = NetUtil.createInetAddressFromIpAddressString(s);
    assertThat(a).as(s).isNotNull();
    return a;
  }

  private static InetAddress client(TrustedProxies p, String peer, String... forwardedFor) {
    HttpHeaders h = new DefaultHttpHeaders();
    for (String v : forwardedFor) {
      h.add("X-Forwarded-For", v);
    }
    return p.clientAddress(ip(peer), h);
  }

  // ---- entries

  @Test
  void trusts_addressesAndCidrBlocks_ipv4AndIpv6() {
    assertThat(LB.trusts(ip("10.0.0.5"))).isTrue();
    assertThat(LB.trusts(ip("10.0.0.6"))).isFalse();
    assertThat(LB.trusts(ip("10.1.0.0"))).isTrue();
    assertThat(LB.trusts(ip("10.1.255.255"))).isTrue();
    assertThat(LB.trusts(ip("10.2.0.1"))).isFalse();
    assertThat(LB.trusts(ip("fd12:3456::1"))).isTrue();
    assertThat(LB.trusts(ip("fe00::1"))).isFalse();
    assertThat(LB.trusts(ip("2001:db8:1::7"))).isTrue();
    assertThat(LB.trusts(ip("2001:db8:1::8"))).isFalse();
    // An IPv4 block says nothing of IPv6 addresses, and the other way round.
    assertThat(LB.trusts(ip("::a01:5"))).isFalse();
    assertThat(LB.trusts(null)).isFalse();
  }

  @Test
  void trusts_prefixesThatEndInsideAByte() {
    TrustedProxies p = TrustedProxies.parse(List.of("192.168.4.0/22", "2001:db8:8000::/33"));
    assertThat(p.trusts(ip("192.168.4.1"))).isTrue();
    assertThat(p.trusts(ip("192.168.7.254"))).isTrue();
    assertThat(p.trusts(ip("192.168.8.1"))).isFalse();
    assertThat(p.trusts(ip("192.168.3.255"))).isFalse();
    assertThat(p.trusts(ip("2001:db8:ffff::1"))).isTrue();
    assertThat(p.trusts(ip("2001:db8:7fff::1"))).isFalse();
  }

  @Test
  void trusts_ipv4MappedAddressesAsTheirIpv4() throws Exception {
    TrustedProxies v4 = TrustedProxies.parse(List.of("127.0.0.1/32"));
    // A dual-stack socket may report an IPv4 peer as an IPv6 address ::ffff:127.0.0.1.
    byte[] mappedLoopback = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 127, 0, 0, 1};
    InetAddress peer = Inet6Address.getByAddress(null, mappedLoopback, -1);
    assertThat(peer).isInstanceOf(Inet6Address.class);
    assertThat(v4.trusts(peer)).isTrue();
    assertThat(v4.trusts(ip("::ffff:127.0.0.1"))).isTrue();
    TrustedProxies mapped = TrustedProxies.parse(List.of("::ffff:10.0.0.0/104"));
    assertThat(mapped.trusts(ip("10.200.0.1"))).isTrue();
    assertThat(mapped.trusts(ip("11.0.0.1"))).isFalse();
  }

  @Test
  void trusts_everythingUnderPrefixZero_andNothingWhenEmpty() {
    assertThat(TrustedProxies.parse(List.of("0.0.0.0/0")).trusts(ip("203.0.113.1"))).isTrue();
    assertThat(TrustedProxies.parse(List.of()).isEmpty()).isTrue();
    assertThat(TrustedProxies.NONE.trusts(ip("127.0.0.1"))).isFalse();
  }

  @Test
  void parse_whenAnEntryIsBad_thenItIsNamed() {
    for (String bad :
        List.of(
            "proxy.internal",
            "",
            "10.0.0",
            "10.0.0.256",
            "10.0.0.0/33",
            "10.0.0.0/-1",
            "10.0.0.0/",
            "10.0.0.0/8/8",
            "fd00::/129",
            "10.0.0.1/8",
            "fd00::1/8",
            "[::1]",
            "10.0.0.5:8080",
            "::ffff:10.0.0.0/64")) {
      assertThatThrownBy(() -> TrustedProxies.parse(List.of("10.0.0.5", bad)))
          .as("'%s'", bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("'" + bad + "'");
    }
    assertThatThrownBy(() -> TrustedProxies.parse(List.of("10.0.0.1/8")))
        .hasMessageContaining("10.0.0.0/8");
  }

  // ---- the walk

  @Test
  void clientAddress_whenPeerTrusted_thenRightmostUntrustedEntry() {
    assertThat(client(LB, "10.0.0.5", "203.0.113.9")).isEqualTo(ip("203.0.113.9"));
    // The left entries were written by the client: only the nearest untrusted one counts.
    assertThat(client(LB, "10.0.0.5", "1.1.1.1, 198.51.100.2, 203.0.113.9"))
        .isEqualTo(ip("203.0.113.9"));
    // Trusted hops on the right are skipped.
    assertThat(client(LB, "10.0.0.5", "1.1.1.1, 203.0.113.9, 10.1.2.3,10.0.0.5"))
        .isEqualTo(ip("203.0.113.9"));
  }

  @Test
  void clientAddress_ipv6() {
    assertThat(client(LB, "fd00::1", "2001:db8:2::42")).isEqualTo(ip("2001:db8:2::42"));
    assertThat(client(LB, "fd00::1", "2001:db8:2::42, 2001:db8:1::7, fd00::9"))
        .isEqualTo(ip("2001:db8:2::42"));
    // Mixed families along the chain.
    assertThat(client(LB, "10.0.0.5", "203.0.113.9, fd00::9")).isEqualTo(ip("203.0.113.9"));
    assertThat(client(LB, "fd00::1", "2001:db8:2::42, 10.1.0.1")).isEqualTo(ip("2001:db8:2::42"));
  }

  @Test
  void clientAddress_multipleHeaders_areJoinedInOrder() {
    assertThat(client(LB, "10.0.0.5", "198.51.100.2", "203.0.113.9")).isEqualTo(ip("203.0.113.9"));
    assertThat(client(LB, "10.0.0.5", "198.51.100.2, 203.0.113.9", "10.1.0.1, 10.1.0.2"))
        .isEqualTo(ip("203.0.113.9"));
    assertThat(client(LB, "10.0.0.5", "198.51.100.2", "10.1.0.1", "10.1.0.2"))
        .isEqualTo(ip("198.51.100.2"));
    assertThat(LB.clientAddress(ip("10.0.0.5"), List.of("198.51.100.2, 203.0.113.9", "10.1.0.1")))
        .isEqualTo(ip("203.0.113.9"));
  }

  @Test
  void clientAddress_whenPeerNotTrusted_thenHeaderIgnored() {
    // A client that talks to the node directly can write anything in the header.
    assertThat(client(LB, "203.0.113.9", "1.2.3.4")).isEqualTo(ip("203.0.113.9"));
    assertThat(client(LB, "10.0.0.6", "1.2.3.4, 10.0.0.5")).isEqualTo(ip("10.0.0.6"));
    assertThat(client(TrustedProxies.NONE, "10.0.0.5", "1.2.3.4")).isEqualTo(ip("10.0.0.5"));
  }

  @Test
  void clientAddress_whenNoHeader_thenPeer() {
    assertThat(client(LB, "10.0.0.5")).isEqualTo(ip("10.0.0.5"));
    assertThat(LB.clientAddress(ip("10.0.0.5"), List.of())).isEqualTo(ip("10.0.0.5"));
  }

  @Test
  void clientAddress_whenEveryEntryTrusted_thenLeftmost() {
    assertThat(client(LB, "10.0.0.5", "10.1.0.1, 10.1.0.2, 10.0.0.5")).isEqualTo(ip("10.1.0.1"));
    assertThat(client(LB, "10.0.0.5", "fd00::3", "10.1.0.2")).isEqualTo(ip("fd00::3"));
  }

  @Test
  void clientAddress_whenAnEntryIsGarbage_thenTheLastTrustedHop() {
    // The rightmost entry is garbage: the peer is the last hop that can be believed.
    assertThat(client(LB, "10.0.0.5", "203.0.113.9, unknown")).isEqualTo(ip("10.0.0.5"));
    assertThat(client(LB, "10.0.0.5", "203.0.113.9:4711")).isEqualTo(ip("10.0.0.5"));
    assertThat(client(LB, "10.0.0.5", "")).isEqualTo(ip("10.0.0.5"));
    assertThat(client(LB, "10.0.0.5", "203.0.113.9,")).isEqualTo(ip("10.0.0.5"));
    assertThat(client(LB, "10.0.0.5", "proxy.example.com")).isEqualTo(ip("10.0.0.5"));
    // Garbage behind a trusted hop: that hop, not whatever lies further left.
    assertThat(client(LB, "10.0.0.5", "203.0.113.9, bogus, 10.1.0.7")).isEqualTo(ip("10.1.0.7"));
    assertThat(client(LB, "10.0.0.5", "203.0.113.9", "bogus", "10.1.0.7"))
        .isEqualTo(ip("10.1.0.7"));
    // Garbage left of the client does not matter: the walk stopped before it.
    assertThat(client(LB, "10.0.0.5", "bogus, 203.0.113.9")).isEqualTo(ip("203.0.113.9"));
  }

  @Test
  void clientAddress_toleratesSpacesAroundEntries() {
    assertThat(client(LB, "10.0.0.5", "198.51.100.2 ,203.0.113.9  ,  10.1.0.1"))
        .isEqualTo(ip("203.0.113.9"));
  }
}
