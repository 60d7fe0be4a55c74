package org.presence.gateway.xmpp;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.presence.gateway.testing.RawWebSocket;
import org.presence.gateway.testing.TestNode;

/**
 * What the tests of raw XMPP input share: an embedded node with XMPP ({@link XmppFixture#node}),
 * the fixture that made its one active application, and connections to it. Start it in a test
 * class's {@code @BeforeAll}, close it in {@code @AfterAll}.
 */
final class XmppTestNode implements AutoCloseable {
  static final String FRAMING = "urn:ietf:params:xml:ns:xmpp-framing";

  /** The {@code <open/>} of an RFC 7395 stream to {@link XmppFixture#DOMAIN}. */
  static final String OPEN =
      "<open xmlns='" + FRAMING + "' to='" + XmppFixture.DOMAIN + "' version='1.0'/>";

  final TestNode node;
  final XmppFixture fx;
  final XmppFixture.App app;

  private XmppTestNode(TestNode node, XmppFixture fx, XmppFixture.App app) {
    this.node = node;
    this.fx = fx;
    this.app = app;
  }

  /** A node with {@code extra} settings and one active application named {@code appName}. */
  static XmppTestNode start(Path dataDir, String appName, Map<String, String> extra) {
    TestNode node = XmppFixture.node(dataDir, extra);
    XmppFixture fx = null;
    try {
      fx = new XmppFixture();
      return new XmppTestNode(node, fx, fx.activeApp(node, appName));
    } catch (RuntimeException | Error e) {
      if (fx != null) {
        fx.close();
      }
      node.close();
      throw e;
    }
  }

  /** The application's SASL user name: its id. */
  String user() {
    return String.valueOf(app.id());
  }

  /** A plain-text connection to the XMPP port, nothing sent yet. */
  RawXmpp raw() throws IOException {
    return RawXmpp.connect(node.server().xmppAddress().getPort());
  }

  /** A connection to the XMPP port whose stream is over TLS, its features read. */
  RawXmpp tls() throws IOException {
    return raw().startTls();
  }

  /**
   * A WebSocket at {@code /xmpp-websocket} (subprotocol {@code xmpp}) whose stream is open: the
   * {@code <open/>} and the features were read.
   */
  RawWebSocket webSocket(Duration wait) throws IOException {
    RawWebSocket ws = RawWebSocket.connect(node.port(), XmppWebSocket.PATH, "xmpp");
    ws.sendText(OPEN);
    String open = ws.readText(wait, true);
    String features = ws.readText(wait, true);
    if (open == null
        || !open.startsWith("<open ")
        || features == null
        || !features.startsWith("<stream:features")) {
      ws.close();
      throw new AssertionError("no stream opened: " + open + " " + features);
    }
    return ws;
  }

  @Override
  public void close() {
    try {
      fx.close();
    } finally {
      node.close();
    }
  }
}
