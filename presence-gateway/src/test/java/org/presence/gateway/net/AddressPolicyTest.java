package org.presence.gateway.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

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
    "::10.0.0.1, PRIVATE",
    "64:ff9b::a9fe:a9fe, LINK_LOCAL",
    "2002:7f00:0001::1, LOOPBACK",
    "2002:0808:0808::1, PUBLIC"
  })
  void classify_whenAddress_thenKind(String literal, AddressPolicy.Kind kind) throws Exception {
    assertThat(AddressPolicy.classify(InetAddress.getByName(literal))).isEqualTo(kind);
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
