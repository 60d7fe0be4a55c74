package org.presence.gateway.xmpp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jivesoftware.smack.tcp.XMPPTCPConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.connection.AddressCaps;
import org.presence.gateway.testing.TestNode;

/**
 * The XMPP port shares the gateway port's per-address caps ({@code
 * gateway.max-pending-connections-per-address}): a connection over the cap is closed at the accept,
 * before any stream or TLS, and a stream that authenticated (Smack, STARTTLS and SASL PLAIN) no
 * longer counts as pending.
 */
class XmppAddressCapsTest {
  static {
    XmppFixture.jdkStaxForSmack();
  }

  private static final InetAddress ONE = InetAddress.getLoopbackAddress();
  private static final int CAP = 4;

  @TempDir Path dataDir;
  private TestNode node;
  private XmppFixture fx;
  private final List<AutoCloseable> open = new ArrayList<>();

  @BeforeEach
  void start() {
    node =
        XmppFixture.node(
            dataDir,
            Map.of(
                "gateway.connection-cap-exempt",
                "[]",
                "gateway.max-pending-connections-per-address",
                Integer.toString(CAP)));
    fx = new XmppFixture();
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
    fx.close();
    node.close();
  }

  private AddressCaps caps() {
    return node.server().connections().addressCaps();
  }

  private Socket raw() throws IOException {
    Socket s = new Socket(ONE, node.server().xmppAddress().getPort());
    open.add(s);
    return s;
  }

  @Test
  void anAuthenticatedStreamLeavesThePendingCount_andOneOverTheCapIsClosedAtTheAccept()
      throws Exception {
    XmppFixture.App app = fx.activeApp(node, "capped");
    XMPPTCPConnection c = XmppFixture.smack(node, app.id(), app.key(), "r1");
    open.add(c::disconnect);
    int openBefore = caps().open(ONE);
    int pendingBefore = caps().pending(ONE);
    c.connect().login();
    // Counted open, not pending.
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> caps().open(ONE) == openBefore + 1 && caps().pending(ONE) == pendingBefore);

    // The API client's kept-alive HTTP connections from this address are pending too.
    int room = CAP - caps().pending(ONE);
    assertThat(room).isPositive();
    for (int i = 0; i < room; i++) {
      raw();
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> caps().pending(ONE) == CAP);
    // The node-wide count (gateway.max-pending-connections) holds the same connections.
    assertThat(caps().pendingOnNode()).isEqualTo(CAP);
    Socket over = raw();
    assertThat(closedAtOnce(over)).isTrue();
    assertThat(
            node.server()
                .metrics()
                .registry()
                .counter("presence.connections.refused.pending")
                .getCount())
        .isEqualTo(1);
    assertThat(c.isAuthenticated()).isTrue();

    c.disconnect();
    await().atMost(Duration.ofSeconds(10)).until(() -> caps().open(ONE) == CAP);
    assertThat(caps().pendingOnNode()).isEqualTo(CAP);
  }

  private static boolean closedAtOnce(Socket s) throws IOException {
    s.setSoTimeout(5_000);
    try {
      return s.getInputStream().read() == -1;
    } catch (SocketException reset) {
      return true;
    } catch (SocketTimeoutException stillOpen) {
      return false;
    }
  }
}
