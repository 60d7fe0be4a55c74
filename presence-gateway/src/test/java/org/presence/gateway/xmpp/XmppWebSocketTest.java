package org.presence.gateway.xmpp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.BadUtf8;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.RawHttp;
import org.presence.gateway.testing.RawWebSocket;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.PresenceStatus;
import org.w3c.dom.Element;

/**
 * XMPP over WebSocket (RFC 7395) at {@code /xmpp-websocket} on the HTTP port, with the JDK's
 * WebSocket client: the {@code xmpp} subprotocol, {@code <open/>} and {@code <close/>}, one stanza
 * per message, each a complete document with its namespaces, and the session's flow (SASL PLAIN
 * without STARTTLS, bind, snapshot and changes).
 */
class XmppWebSocketTest {
  private static final long WAIT = 10;
  private static final String FRAMING = "urn:ietf:params:xml:ns:xmpp-framing";
  private static final String OPEN =
      "<open xmlns='" + FRAMING + "' to='" + XmppFixture.DOMAIN + "' version='1.0'/>";

  @TempDir static Path dataDir;
  private static TestNode node;
  private static XmppFixture fx;

  @BeforeAll
  static void start() {
    node = XmppFixture.node(dataDir, Map.of());
    fx = new XmppFixture();
  }

  @AfterAll
  static void stop() {
    if (fx != null) {
      fx.close();
    }
    if (node != null) {
      node.close();
    }
  }

  /** A WebSocket whose text messages (whole, reassembled) and close code land in queues. */
  private static final class Client implements WebSocket.Listener {
    final BlockingQueue<String> messages = new LinkedBlockingQueue<>();
    final CompletableFuture<Integer> closed = new CompletableFuture<>();
    private final StringBuilder partial = new StringBuilder();
    WebSocket ws;

    static Client connect() throws Exception {
      Client c = new Client();
      c.ws =
          HttpClient.newHttpClient()
              .newWebSocketBuilder()
              .subprotocols("xmpp")
              .buildAsync(
                  URI.create(
                      "ws://127.0.0.1:" + node.server().address().getPort() + "/xmpp-websocket"),
                  c)
              .get(WAIT, TimeUnit.SECONDS);
      return c;
    }

    @Override
    public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        messages.add(partial.toString());
        partial.setLength(0);
      }
      w.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket w, int status, String reason) {
      closed.complete(status);
      return null;
    }

    @Override
    public void onError(WebSocket w, Throwable error) {
      closed.completeExceptionally(error);
    }

    void send(String text) throws Exception {
      ws.sendText(text, true).get(WAIT, TimeUnit.SECONDS);
    }

    /** The next message, parsed on its own as a namespace-aware document. */
    Element next() throws Exception {
      String m = messages.poll(WAIT, TimeUnit.SECONDS);
      assertThat(m).as("a message within %s s", WAIT).isNotNull();
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setNamespaceAware(true);
      return f.newDocumentBuilder()
          .parse(new ByteArrayInputStream(m.getBytes(StandardCharsets.UTF_8)))
          .getDocumentElement();
    }

    /** The next message that is a {@code jabber:client} {@code name} stanza from {@code from}. */
    Element next(String name, String from) throws Exception {
      for (int i = 0; i < 100; i++) {
        Element e = next();
        if (e.getLocalName().equals(name)
            && "jabber:client".equals(e.getNamespaceURI())
            && from.equals(e.getAttribute("from"))) {
          return e;
        }
      }
      throw new AssertionError("no " + name + " from " + from);
    }
  }

  private static String child(Element e, String name) {
    var list = e.getElementsByTagNameNS("jabber:client", name);
    return list.getLength() == 0 ? null : list.item(0).getTextContent();
  }

  @Test
  void anAppLogsInOverWebSocket_withOpenAndClose_andGetsPresenceAsOneStanzaPerMessage()
      throws Exception {
    XmppFixture.App app = fx.activeApp(node, "Ws");
    String alice = fx.email("alice");
    String puid = fx.grant(node, alice, app);
    String aliceJid = XmppFixture.jid(puid);
    try (DeviceTestClient d = XmppFixture.device(node, alice, "phone")) {
      XmppFixture.status(d, PresenceStatus.AWAY, "at lunch");
      Client c = Client.connect();
      assertThat(c.ws.getSubprotocol()).isEqualTo("xmpp");

      c.send(OPEN);
      Element open = c.next();
      assertThat(open.getLocalName()).isEqualTo("open");
      assertThat(open.getNamespaceURI()).isEqualTo(FRAMING);
      assertThat(open.getAttribute("from")).isEqualTo(XmppFixture.DOMAIN);
      assertThat(open.getAttribute("version")).isEqualTo("1.0");
      assertThat(open.getAttribute("id")).isNotEmpty();
      Element features = c.next();
      assertThat(features.getLocalName()).isEqualTo("features");
      assertThat(features.getNamespaceURI()).isEqualTo("http://etherx.jabber.org/streams");
      assertThat(features.getTextContent()).contains("PLAIN");
      assertThat(features.getElementsByTagNameNS("*", "starttls").getLength()).isZero();

      String plain =
          Base64.getEncoder()
              .encodeToString(
                  ("\0" + app.id() + "\0" + app.key()).getBytes(StandardCharsets.UTF_8));
      c.send(
          "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + plain + "</auth>");
      assertThat(c.next().getLocalName()).isEqualTo("success");
      c.send(OPEN);
      assertThat(c.next().getLocalName()).isEqualTo("open");
      assertThat(
              c.next()
                  .getElementsByTagNameNS("urn:ietf:params:xml:ns:xmpp-bind", "bind")
                  .getLength())
          .isEqualTo(1);
      c.send(
          "<iq xmlns='jabber:client' type='set' id='b1'><bind"
              + " xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>ws</resource></bind></iq>");
      Element bound = c.next();
      assertThat(bound.getNamespaceURI()).isEqualTo("jabber:client");
      assertThat(bound.getAttribute("type")).isEqualTo("result");
      assertThat(bound.getTextContent()).isEqualTo(app.id() + "@" + XmppFixture.DOMAIN + "/ws");

      c.send("<presence xmlns='jabber:client'/>");
      Element snap = c.next("presence", aliceJid);
      assertThat(child(snap, "show")).isEqualTo("away");
      assertThat(child(snap, "status")).isEqualTo("at lunch");
      XmppFixture.status(d, PresenceStatus.ONLINE, "");
      Element online = c.next("presence", aliceJid);
      assertThat(child(online, "show")).isNull();
      assertThat(online.getAttribute("type")).isEmpty();

      c.send("<close xmlns='" + FRAMING + "'/>");
      Element close = c.next();
      assertThat(close.getLocalName()).isEqualTo("close");
      assertThat(close.getNamespaceURI()).isEqualTo(FRAMING);
      c.closed.get(WAIT, TimeUnit.SECONDS);
    }
  }

  @Test
  void badInput_getsAStreamErrorMessage_andABinaryMessageTheWebSocketClose() throws Exception {
    Client c = Client.connect();
    c.send(OPEN);
    assertThat(c.next().getLocalName()).isEqualTo("open");
    assertThat(c.next().getLocalName()).isEqualTo("features");
    c.send("<presence xmlns='jabber:client'/>");
    Element error = c.next();
    assertThat(error.getLocalName()).isEqualTo("error");
    assertThat(error.getNamespaceURI()).isEqualTo("http://etherx.jabber.org/streams");
    assertThat(
            error
                .getElementsByTagNameNS("urn:ietf:params:xml:ns:xmpp-streams", "not-authorized")
                .getLength())
        .isEqualTo(1);
    assertThat(c.next().getLocalName()).isEqualTo("close");

    Client b = Client.connect();
    b.ws.sendBinary(ByteBuffer.wrap(new byte[] {1, 2, 3}), true).get(WAIT, TimeUnit.SECONDS);
    assertThat(b.closed.get(WAIT, TimeUnit.SECONDS)).isEqualTo(1003);
    assertThat(b.messages).isEmpty();
  }

  // ---------------------------------------------------------------------------------------------
  // WebSocket protocol violations, with raw frames

  private static final String STREAM_ERRORS = "urn:ietf:params:xml:ns:xmpp-streams";

  /** A raw WebSocket at {@code /xmpp-websocket} whose stream is open: its features were read. */
  private static RawWebSocket opened() throws IOException {
    RawWebSocket ws = RawWebSocket.connect(node.port(), XmppWebSocket.PATH, "xmpp");
    ws.sendText(OPEN);
    assertThat(ws.readText(Duration.ofSeconds(WAIT), true)).startsWith("<open ");
    assertThat(ws.readText(Duration.ofSeconds(WAIT), true)).startsWith("<stream:features");
    return ws;
  }

  /**
   * A client that sends its {@code <open/>} in the upgrade request's own write, without waiting for
   * the 101, gets the 101 and then the stream's {@code <open/>} and features: the bytes read after
   * the request are the WebSocket's first frame (they were lost when the HTTP codec left the
   * pipeline).
   */
  @Test
  void anOpenSentInTheUpgradesOwnWrite_isAnswered() throws Exception {
    try (RawWebSocket ws =
        RawWebSocket.connectSending(
            node.port(),
            XmppWebSocket.PATH,
            "xmpp",
            RawWebSocket.frame(
                RawWebSocket.TEXT,
                true,
                OPEN.getBytes(StandardCharsets.UTF_8),
                new java.util.Random(29)))) {
      assertThat(ws.readText(Duration.ofSeconds(WAIT), true)).startsWith("<open ");
      assertThat(ws.readText(Duration.ofSeconds(WAIT), true)).startsWith("<stream:features");
    }
  }

  /**
   * Asserts what ends a WebSocket whose client broke the protocol: the stream error {@code
   * condition} as a message, {@code <close/>}, the close frame with {@code code}'s close code, then
   * the socket's end.
   */
  private static void failsWith(RawWebSocket ws, String condition, ErrorCode code)
      throws IOException {
    Duration wait = Duration.ofSeconds(WAIT);
    assertThat(ws.readText(wait, true))
        .startsWith("<stream:error")
        .contains("<" + condition + " xmlns='" + STREAM_ERRORS + "'/>");
    assertThat(ws.readText(wait, true)).isEqualTo("<close xmlns='" + FRAMING + "'/>");
    RawWebSocket.Frame close = ws.awaitClose(wait);
    assertThat(close).as("a close frame").isNotNull();
    assertThat(close.closeCode()).isEqualTo(code.closeCode());
    assertThat(ws.ended(wait)).isTrue();
  }

  @Test
  void aMessageOverTheFrameLimit_endsTheStreamWithPolicyViolation_andClosesWithFrameTooLarge()
      throws Exception {
    try (Warnings warnings = new Warnings();
        RawWebSocket ws = opened()) {
      ws.sendText(
          "<message xmlns='jabber:client'><body>" + "x".repeat(9_000) + "</body></message>");
      failsWith(ws, "policy-violation", ErrorCode.FRAME_TOO_LARGE);
      assertThat(warnings.logged).isEmpty();
    }
  }

  /**
   * RFC 6455 §8.1: a text message that is not UTF-8 fails the WebSocket with 1007 (after the stream
   * error {@code not-well-formed}, RFC 7395 §3.5): a lead byte without its continuation, an
   * overlong form, an encoded surrogate, a sequence cut short by the message's end, and bad bytes
   * split between continuation frames.
   */
  @Test
  void aMessageThatIsNotUtf8_endsTheStreamAsNotWellFormed_andClosesWith1007() throws Exception {
    String head = "<message xmlns='jabber:client'><body>";
    String tail = "</body></message>";
    List<List<byte[]>> bad =
        List.of(
            List.of(BadUtf8.between(head, "c3 28", tail)),
            List.of(BadUtf8.between(head, "c0 af", tail)),
            List.of(BadUtf8.between(head, "ed a0 80", tail)),
            List.of(BadUtf8.between(head + tail, "e2 82", "")),
            List.of(BadUtf8.between(head, "e2 82", ""), BadUtf8.between("", "28", tail)),
            List.of(BadUtf8.between(head, "ed", ""), BadUtf8.between("", "a0 80", tail)),
            // (A first fragment that is a whole stanza is read as one before the rest arrives.)
            List.of(BadUtf8.between(head, "", ""), BadUtf8.between("", "f0 9f 98", "")));
    try (Warnings warnings = new Warnings()) {
      for (List<byte[]> fragments : bad) {
        try (RawWebSocket ws = opened()) {
          for (int i = 0; i < fragments.size(); i++) {
            ws.send(
                i == 0 ? RawWebSocket.TEXT : RawWebSocket.CONTINUATION,
                i == fragments.size() - 1,
                fragments.get(i));
          }
          failsWith(ws, "not-well-formed", ErrorCode.INVALID_UTF8);
        }
      }
      assertThat(warnings.logged).isEmpty();
    }
    assertThat(ErrorCode.INVALID_UTF8.closeCode()).isEqualTo(1007);
  }

  @Test
  void aCloseFrameWithACodeNoPeerMaySend_failsTheConnection_andAnApplicationsCodeIsEchoed()
      throws Exception {
    try (Warnings warnings = new Warnings()) {
      // RFC 6455 §7.4: 0-999, 1004-1006 and 1015 are never sent, 1016-2999 are reserved, and
      // nothing above 4999 is a close code.
      for (int code : new int[] {999, 1005, 2999, 5000, 65535}) {
        try (RawWebSocket ws = opened()) {
          ws.send(RawWebSocket.CLOSE, true, new byte[] {(byte) (code >> 8), (byte) code});
          failsWith(ws, "bad-format", ErrorCode.HANDSHAKE_FAILED);
        }
      }
      assertThat(warnings.logged).isEmpty();
    }
    try (RawWebSocket ws = opened()) {
      ws.send(RawWebSocket.CLOSE, true, new byte[] {(byte) (4999 >> 8), (byte) 4999});
      RawWebSocket.Frame close = ws.awaitClose(Duration.ofSeconds(WAIT));
      assertThat(close).isNotNull();
      assertThat(close.closeCode()).isEqualTo(4999);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // RFC 7395's handshake and opening

  private static String handshake(String protocolHeader) throws IOException {
    String request =
        "GET "
            + XmppWebSocket.PATH
            + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            + (protocolHeader == null ? "" : protocolHeader + "\r\n")
            + "\r\n";
    return RawHttp.exchange(node.port(), request);
  }

  /**
   * RFC 7395 §3.1: the client offers the {@code xmpp} subprotocol and the server echoes it. A
   * handshake that does not offer it is refused (400, JSON), not served as a WebSocket without one.
   */
  @Test
  void aHandshakeThatDoesNotOfferXmpp_isRefused_andOneThatDoes_getsItEchoed() throws Exception {
    for (String header :
        new String[] {
          null, "Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: XMPP, xmpp-ish"
        }) {
      String answer = handshake(header);
      assertThat(answer)
          .as(String.valueOf(header))
          .startsWith("HTTP/1.1 400")
          .containsIgnoringCase("content-type: application/json")
          .contains("\"errno\":100")
          .contains("subprotocol xmpp required");
    }
    assertThat(handshake("Sec-WebSocket-Protocol: chat, xmpp"))
        .startsWith("HTTP/1.1 101")
        .containsIgnoringCase("sec-websocket-protocol: xmpp");
  }

  /**
   * RFC 7395 opens a stream with {@code <open/>}, never {@code <stream:stream>}: one sent instead,
   * first or after SASL, ends the stream with {@code invalid-namespace} (RFC 6120 §4.8.1), after
   * the server's {@code <open/>} (RFC 7395 §3.4), then {@code <close/>}.
   */
  @Test
  void aStreamStreamOpening_isInvalidNamespace_afterTheServersOpen() throws Exception {
    String header =
        "<stream:stream to='"
            + XmppFixture.DOMAIN
            + "' version='1.0' xmlns='jabber:client'"
            + " xmlns:stream='http://etherx.jabber.org/streams'>";
    Duration wait = Duration.ofSeconds(WAIT);
    try (Warnings warnings = new Warnings();
        RawWebSocket ws = RawWebSocket.connect(node.port(), XmppWebSocket.PATH, "xmpp")) {
      ws.sendText(header);
      assertThat(ws.readText(wait, true)).startsWith("<open xmlns='" + FRAMING + "'");
      assertThat(ws.readText(wait, true))
          .startsWith("<stream:error")
          .contains("<invalid-namespace xmlns='" + STREAM_ERRORS + "'/>")
          .contains("RFC 7395");
      assertThat(ws.readText(wait, true)).isEqualTo("<close xmlns='" + FRAMING + "'/>");
      assertThat(warnings.logged).isEmpty();
    }
    XmppFixture.App app = fx.activeApp(node, "WsOpen");
    try (RawWebSocket ws = opened()) {
      ws.sendText(
          "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
              + Base64.getEncoder()
                  .encodeToString(
                      ("\0" + app.id() + "\0" + app.key()).getBytes(StandardCharsets.UTF_8))
              + "</auth>");
      assertThat(ws.readText(wait, true)).startsWith("<success");
      ws.sendText(header);
      assertThat(ws.readText(wait, true)).startsWith("<open ");
      assertThat(ws.readText(wait, true))
          .startsWith("<stream:error")
          .contains("<invalid-namespace xmlns='" + STREAM_ERRORS + "'/>");
      assertThat(ws.readText(wait, true)).isEqualTo("<close xmlns='" + FRAMING + "'/>");
    }
  }

  /**
   * Each RFC 7395 message is an XML document of its own, so an {@code <open/>} may start with an
   * XML declaration, first and after SASL; one naming an encoding other than UTF-8 ends the stream
   * with {@code unsupported-encoding} (RFC 6120 §11.6), as on the XMPP port.
   */
  @Test
  void anOpenWithAnXmlDeclaration_opensTheStream_unlessItNamesAnotherEncoding() throws Exception {
    Duration wait = Duration.ofSeconds(WAIT);
    XmppFixture.App app = fx.activeApp(node, "WsDecl");
    try (RawWebSocket ws = RawWebSocket.connect(node.port(), XmppWebSocket.PATH, "xmpp")) {
      ws.sendText("<?xml version='1.0'?>" + OPEN);
      assertThat(ws.readText(wait, true)).startsWith("<open xmlns='" + FRAMING + "'");
      assertThat(ws.readText(wait, true)).startsWith("<stream:features").contains("PLAIN");
      ws.sendText(
          "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
              + Base64.getEncoder()
                  .encodeToString(
                      ("\0" + app.id() + "\0" + app.key()).getBytes(StandardCharsets.UTF_8))
              + "</auth>");
      assertThat(ws.readText(wait, true)).startsWith("<success");
      ws.sendText("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + OPEN);
      assertThat(ws.readText(wait, true)).startsWith("<open ");
      assertThat(ws.readText(wait, true)).startsWith("<stream:features").contains("bind");
    }
    try (RawWebSocket ws = RawWebSocket.connect(node.port(), XmppWebSocket.PATH, "xmpp")) {
      ws.sendText("<?xml version='1.0' encoding='ISO-8859-1'?>" + OPEN);
      assertThat(ws.readText(wait, true)).startsWith("<open ");
      assertThat(ws.readText(wait, true))
          .startsWith("<stream:error")
          .contains("<unsupported-encoding xmlns='" + STREAM_ERRORS + "'/>");
      assertThat(ws.readText(wait, true)).isEqualTo("<close xmlns='" + FRAMING + "'/>");
    }
  }
}
