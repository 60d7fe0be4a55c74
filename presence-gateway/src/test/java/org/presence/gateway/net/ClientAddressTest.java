package org.presence.gateway.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.NetUtil;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ClientAddressTest {
  private final EmbeddedChannel ch =
      new EmbeddedChannel() {
        @Override
        protected SocketAddress remoteAddress0() {
          return new InetSocketAddress("10.0.0.5", 51234);
        }
      };

  @AfterEach
  void close() {
    ch.finishAndReleaseAll();
  }

  private static HttpHeaders forwardedFor(String value) {
    HttpHeaders h = new DefaultHttpHeaders();
    if (value != null) {
      h.add("X-Forwarded-For", value);
    }
    return h;
  }

  @Test
  void whenNoProxyIsTrusted_thenThePeer_andNoAttributeIsMade() {
    ClientAddress.update(ch, forwardedFor("203.0.113.9"), TrustedProxies.NONE);
    assertThat(ClientAddress.of(ch))
        .isEqualTo(NetUtil.createInetAddressFromIpAddressString("10.0.0.5"));
    assertThat(ClientAddress.describe(ch)).isEqualTo("/10.0.0.5:51234");
    assertThat(ch.hasAttr(io.netty.util.AttributeKey.valueOf("presence.forwarded-for"))).isFalse();
  }

  @Test
  void whenTheProxyIsTrusted_thenEachRequestsForwardedClient() {
    TrustedProxies lb = TrustedProxies.parse(List.of("10.0.0.0/24"));
    ClientAddress.update(ch, forwardedFor("203.0.113.9"), lb);
    assertThat(ClientAddress.of(ch))
        .isEqualTo(NetUtil.createInetAddressFromIpAddressString("203.0.113.9"));
    assertThat(ClientAddress.describe(ch)).isEqualTo("203.0.113.9 via /10.0.0.5:51234");
    assertThat(ClientAddress.peer(ch))
        .isEqualTo(NetUtil.createInetAddressFromIpAddressString("10.0.0.5"));
    // The proxy keeps the connection alive for another client's request ...
    ClientAddress.update(ch, forwardedFor("2001:db8::77"), lb);
    assertThat(ClientAddress.of(ch))
        .isEqualTo(NetUtil.createInetAddressFromIpAddressString("2001:db8::77"));
    // ... and then for one of its own, without the header: the peer again, not the last client.
    ClientAddress.update(ch, forwardedFor(null), lb);
    assertThat(ClientAddress.of(ch))
        .isEqualTo(NetUtil.createInetAddressFromIpAddressString("10.0.0.5"));
    assertThat(ClientAddress.describe(ch)).isEqualTo("/10.0.0.5:51234");
  }
}
