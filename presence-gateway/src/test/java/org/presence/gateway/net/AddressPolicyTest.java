package org.presence.gateway.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.presence.gateway.outbound.AddressPolicy;

class AddressPolicyTest {
  @ParameterizedTest
  @CsvSource({
    "8.8.8.8, PUBLIC",
    "93.184.216.34, PUBLIC",
    "127.0.0.1, LOOPBACK",
    "127.255.255.254, LOOPBACK",
    "10.0.0.1, PRIVATE",
    "172.16.0.1, PRIVATE",
    "172.31.255.255, PRIVATE",
    "172.32.0.1, PUBLIC",
    "192.168.1.1, PRIVATE",
    "100.64.0.1, PRIVATE",
    "198.18.0.1, PRIVATE",
    "169.254.169.254, LINK_LOCAL",
    "0.0.0.0, NEVER",
    "224.0.0.1, NEVER",
    "255.255.255.255, NEVER",
    "192.0.2.1, NEVER",
    "::1, LOOPBACK",
    "::, NEVER",
    "fe80::1, LINK_LOCAL",
    "fd12:3456::1, PRIVATE",
    "fc00::1, PRIVATE",
    "ff02::1, NEVER",
    "2001:db8::1, NEVER",
    "2606:4700::1111, PUBLIC",
    "::ffff:10.0.0.1, PRIVATE",
    "::ffff:127.0.0.1, LOOPBACK",
    "::10.0.0.1, NEVER",
    "64:ff9b::a9fe:a9fe, LINK_LOCAL",
    "64:ff9b::808:808, PUBLIC",
    "2002:7f00:0001::1, LOOPBACK",
    "2002:0808:0808::1, PUBLIC"
  })
  void classify_whenAddress_thenKind(String literal, AddressPolicy.Kind kind) throws Exception {
    assertThat(AddressPolicy.classify(InetAddress.getByName(literal))).isEqualTo(kind);
  }

  /**
   * One address in each block of the IANA special-purpose registries (and the other non-global
   * blocks) that the policy refuses whatever the settings, next to its neighbours that are public.
   */
  @ParameterizedTest(name = "{0} ({1})")
  @CsvSource({
    // IPv4
    "0.1.2.3, this network",
    "192.0.2.7, TEST-NET-1",
    "192.88.99.1, deprecated 6to4 relay anycast",
    "198.51.100.7, TEST-NET-2",
    "203.0.113.7, TEST-NET-3",
    "224.0.0.251, multicast",
    "239.255.255.250, multicast",
    "240.0.0.1, reserved",
    "255.255.255.255, limited broadcast",
    // IPv6
    "::, unspecified",
    "::ffff:0:a9fe:a9fe, IPv4-translated (SIIT) form of 169.254.169.254",
    "::ffff:0:7f00:1, IPv4-translated form of 127.0.0.1",
    "::7f00:1, IPv4-compatible form of 127.0.0.1",
    "::8.8.8.8, IPv4-compatible (deprecated)",
    "64:ff9b:1::a9fe:a9fe, local-use IPv4/IPv6 translation",
    "64:ff9b:1:ffff::1, local-use IPv4/IPv6 translation",
    "100::1, discard-only",
    "100::ffff:ffff:ffff:ffff, discard-only",
    "100:0:0:1::1, dummy prefix",
    "2001::1, Teredo",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2, Teredo",
    "2001:2::1, benchmarking",
    "2001:10::1, deprecated ORCHID",
    "2001:1ff::1, IETF protocol assignments",
    "2001:db8::1, documentation",
    "3fff::1, documentation",
    "5f00::1, segment routing SIDs",
    "ff02::1, multicast",
    "ff0e::1, multicast",
    "4000::1, outside 2000::/3",
    "1::1, outside 2000::/3",
    "e000::1, outside 2000::/3"
  })
  void specialPurposeBlocks_areNeverAllowed(String literal, String block) throws Exception {
    InetAddress a = InetAddress.getByName(literal);
    assertThat(AddressPolicy.classify(a)).as(block).isEqualTo(AddressPolicy.Kind.NEVER);
    assertThat(new AddressPolicy(true, true, true).allows(a)).as(block).isFalse();
  }

  /** Blocks the registries mark globally reachable, and ordinary global unicast, are allowed. */
  @ParameterizedTest
  @CsvSource({
    "192.0.0.9",
    "192.0.0.10",
    "192.31.196.1",
    "192.52.193.1",
    "192.175.48.1",
    "192.88.98.1",
    "192.88.100.1",
    "223.255.255.1",
    "1.1.1.1",
    "2001:1::1",
    "2001:1::2",
    "2001:3::1",
    "2001:4:112::1",
    "2001:20::1",
    "2001:200::1",
    "2620:4f:8000::1",
    "2a00:1450:4001::1",
    "3ffe::1",
    "64:ff9b::101:101",
    "2002:101:101::1"
  })
  void globallyReachableBlocks_areAllowed(String literal) throws Exception {
    InetAddress a = InetAddress.getByName(literal);
    assertThat(AddressPolicy.classify(a)).isEqualTo(AddressPolicy.Kind.PUBLIC);
    assertThat(new AddressPolicy(false, false, false).allows(a)).isTrue();
  }

  @ParameterizedTest
  @CsvSource({
    "127.0.0.1, false, true, false, false",
    "127.0.0.1, true, false, false, true",
    "10.0.0.1, true, false, false, false",
    "10.0.0.1, false, true, false, true",
    "169.254.169.254, true, true, false, false",
    "169.254.169.254, false, false, true, true",
    "0.0.0.0, true, true, true, false",
    "8.8.8.8, false, false, false, true"
  })
  void allows_followsTheConfiguration(
      String literal, boolean loopback, boolean priv, boolean linkLocal, boolean allowed)
      throws Exception {
    assertThat(new AddressPolicy(loopback, priv, linkLocal).allows(InetAddress.getByName(literal)))
        .isEqualTo(allowed);
  }
}
