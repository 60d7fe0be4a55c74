package org.presence.loadtest.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import org.junit.jupiter.api.Test;

class TransportPartsTest {
  @Test
  void sourceAddresses_parseRangesAndRotate() {
    SourceAddresses s = SourceAddresses.parse("127.0.0.1-127.0.0.3,127.0.0.9");
    assertThat(s.spec()).isEqualTo("127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.9");
    assertThat(s.next().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
    assertThat(s.next().getAddress().getHostAddress()).isEqualTo("127.0.0.2");
    assertThat(s.slice(1, 2).spec()).isEqualTo("127.0.0.2,127.0.0.9");
    assertThat(SourceAddresses.parse("").next()).isNull();
    assertThatThrownBy(() -> SourceAddresses.parse("example.org"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SourceAddresses.parse("127.0.0.9-127.0.0.1"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void urls_mapSchemesAndKeepThePathPrefix() {
    URI base = URI.create("http://127.0.0.1:8080/prefix/");
    assertThat(Urls.webSocket(base, "/presence"))
        .hasToString("ws://127.0.0.1:8080/prefix/presence");
    assertThat(Urls.http(URI.create("wss://h"), "/metrics")).hasToString("https://h/metrics");
    assertThat(Urls.isLoopback(base)).isTrue();
    assertThat(Urls.isLoopback(URI.create("http://example.org"))).isFalse();
  }
}
