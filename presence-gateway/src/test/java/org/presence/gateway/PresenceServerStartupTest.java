package org.presence.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.TestNode;
import org.presence.store.error.StartupException;

/**
 * A node whose later port cannot be bound names the setting, closes the ports it had bound and the
 * store, so that the same ports and data directory serve the next attempt.
 */
class PresenceServerStartupTest {
  @TempDir Path dataDir;

  @Test
  void start_whenAdminPortTaken_thenNamesItAndReleasesTheGatewayPortAndStore() throws Exception {
    int gatewayPort = freePort();
    try (ServerSocket taken = listen(0)) {
      Map<String, String> s = TestNode.baseSettings(dataDir);
      s.put("gateway.port", Integer.toString(gatewayPort));
      s.put("admin.port", Integer.toString(taken.getLocalPort()));
      assertThatThrownBy(() -> TestNode.start(s, r -> {}))
          .isInstanceOf(StartupException.class)
          .extracting(e -> ((StartupException) e).setting())
          .isEqualTo("admin.port");
    }
    assertReleased(gatewayPort);
  }

  @Test
  void start_whenXmppPortTaken_thenNamesItAndReleasesTheGatewayPortAndStore() throws Exception {
    int gatewayPort = freePort();
    try (ServerSocket taken = listen(0)) {
      Map<String, String> s = TestNode.baseSettings(dataDir);
      s.put("gateway.port", Integer.toString(gatewayPort));
      s.put("identity.dev-signing", "true");
      s.put("xmpp.domain", "presence.test");
      s.put("xmpp.port", Integer.toString(taken.getLocalPort()));
      assertThatThrownBy(() -> TestNode.start(s, r -> {}))
          .isInstanceOf(StartupException.class)
          .extracting(e -> ((StartupException) e).setting())
          .isEqualTo("xmpp.port");
    }
    assertReleased(gatewayPort);
  }

  /** The gateway port can be bound again, and a node opens the same data directory. */
  @Test
  void listening_namesTheBoundAddress_andThePublicUrlBeside() {
    try (TestNode plain = TestNode.embedded(dataDir.resolve("plain"))) {
      assertThat(plain.server().listening()).isEqualTo("http://127.0.0.1:" + plain.port());
    }
    Map<String, String> s = TestNode.baseSettings(dataDir.resolve("public"));
    s.put("gateway.public-url", "https://presence.example.com");
    try (TestNode behindProxy = TestNode.start(s, r -> {})) {
      // The start-up lines named the public URL alone, which says nothing of the port bound.
      assertThat(behindProxy.server().listening())
          .isEqualTo(
              "http://127.0.0.1:"
                  + behindProxy.port()
                  + " (public URL https://presence.example.com)");
      assertThat(behindProxy.server().baseUrl()).isEqualTo("https://presence.example.com");
    }
  }

  private void assertReleased(int gatewayPort) throws Exception {
    try (ServerSocket again = listen(gatewayPort)) {
      assertThat(again.getLocalPort()).isEqualTo(gatewayPort);
    }
    try (TestNode n = TestNode.embedded(dataDir)) {
      assertThat(n.port()).isPositive();
    }
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = listen(0)) {
      return s.getLocalPort();
    }
  }

  private static ServerSocket listen(int port) throws Exception {
    return new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"));
  }
}
