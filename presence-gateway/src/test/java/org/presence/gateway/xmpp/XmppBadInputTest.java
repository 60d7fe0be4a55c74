package org.presence.gateway.xmpp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.codahale.metrics.Gauge;
import io.netty.channel.Channel;
import io.netty.handler.codec.DecoderException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.BadUtf8;
import org.presence.gateway.testing.ReadCounter;
import org.presence.gateway.testing.TestNode;

/**
 * What an XMPP client must not send, over real sockets: each gets its RFC 6120 stream or stanza
 * error, the stream's end and the socket's close, and leaves the node serving others (Netty's leak
 * detector runs at paranoid in tests).
 */
class XmppBadInputTest {
  private static final String STREAMS = "urn:ietf:params:xml:ns:xmpp-streams";

  @TempDir static Path dataDir;
  private static XmppTestNode xmpp;
  private static TestNode node;
  private static XmppFixture.App app;

  @BeforeAll
  static void start() {
    // The address's failures (all from loopback, across tests) are XmppNodeTest's to count.
    xmpp =
        XmppTestNode.start(
            dataDir,
            "Bad",
            Map.of("xmpp.max-auth-failures", "2", "xmpp.auth-failure-burst", "1000"));
    node = xmpp.node;
    app = xmpp.app;
  }

  @AfterAll
  static void stop() {
    if (xmpp != null) {
      xmpp.close();
    }
  }

  private static RawXmpp raw() throws IOException {
    return xmpp.raw();
  }

  /** Asserts the stream ended with {@code condition}, then the connection closed. */
  private static void endsWith(RawXmpp c, String condition) throws IOException {
    String rest = c.awaitEnd();
    assertThat(rest)
        .contains("<stream:error><" + condition + " xmlns='" + STREAMS + "'/>")
        .endsWith("</stream:error></stream:stream>");
  }

  @Test
  void directTls_offersSaslAtOnce_andPlainTextThereIsATlsFailure() throws IOException {
    int port = node.server().xmppTlsAddress().getPort();
    try (RawXmpp c = RawXmpp.connectTls(port)) {
      c.send(RawXmpp.HEADER);
      String features = c.await("</stream:features>");
      assertThat(features).contains("<mechanism>PLAIN</mechanism>").doesNotContain("starttls");
      assertThat(c.auth(String.valueOf(app.id()), app.key())).contains("<success");
    }
    long failures =
        node.server().metrics().registry().counter("presence.xmpp.tls_failures").getCount();
    try (RawXmpp c = RawXmpp.connect(port)) {
      c.send(RawXmpp.HEADER);
      assertThat(c.awaitEnd()).doesNotContain("<stream:features>");
    }
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                node.server().metrics().registry().counter("presence.xmpp.tls_failures").getCount()
                    > failures);
  }

  @Test
  void malformedXml_isNotWellFormed() throws IOException {
    try (RawXmpp c = raw()) {
      c.send(RawXmpp.HEADER + "<message><body>hi</message>");
      endsWith(c, "not-well-formed");
    }
  }

  /**
   * Bytes that are not UTF-8 end the stream with {@code not-well-formed}, the overlong forms Aalto
   * alone would decode ({@code C0 BC} as {@code <}) included, whether a read ends inside the
   * sequence or not; nothing is logged at WARN. A well-formed sequence cut by the reads is read.
   */
  @Test
  void invalidUtf8_isNotWellFormed_evenOverlongForms_andCutBetweenReads() throws Exception {
    String head = RawXmpp.HEADER + "<message><body>x";
    try (Warnings warnings = new Warnings()) {
      for (String bad : BadUtf8.SEQUENCES) {
        try (RawXmpp c = raw()) {
          c.send(BadUtf8.between(head, bad, "y</body></message>"));
          endsWith(c, "not-well-formed");
        }
        // The first byte in one read, the rest in the next.
        try (RawXmpp c = raw()) {
          ReadCounter reads = decoderReads(c);
          byte[] first = BadUtf8.between(head, bad.substring(0, 2), "");
          c.send(first);
          reads.awaitBytes(first.length);
          c.send(BadUtf8.between("", bad.substring(2), "y</body></message>"));
          endsWith(c, "not-well-formed");
        }
      }
      // "é" cut between two reads is read: the stanza gets the answer of a stanza before TLS.
      try (RawXmpp c = raw()) {
        ReadCounter reads = decoderReads(c);
        byte[] first = BadUtf8.between(head, "c3", "");
        c.send(first);
        reads.awaitBytes(first.length);
        c.send(BadUtf8.between("", "a9", "y</body></message>"));
        endsWith(c, "policy-violation");
      }
      assertThat(warnings.logged).isEmpty();
    }
  }

  /**
   * What reaches the session unanswered, fired into the node's end of a real connection where the
   * decoder would fire it: bytes a decoder could not decode end the stream with {@code
   * not-well-formed}, logged at DEBUG only (a client cannot fill the log); a bug of the node ends
   * it with {@code internal-server-error} and is logged at WARN.
   */
  @Test
  void undecodableInput_endsTheStreamLoggedAtDebug_aBugIsLoggedAtWarn() throws Exception {
    try (Warnings warnings = new Warnings(XmppSession.class)) {
      try (RawXmpp c = raw()) {
        c.send(RawXmpp.HEADER);
        c.await("</stream:features>");
        fromTheDecoder(c, new DecoderException(new IllegalArgumentException("bad bytes")));
        endsWith(c, "not-well-formed");
      }
      assertThat(warnings.logged).isEmpty();
      assertThat(warnings.debug)
          .anyMatch(l -> l.contains("undecodable") && l.contains("bad bytes"));
      try (RawXmpp c = raw()) {
        c.send(RawXmpp.HEADER);
        c.await("</stream:features>");
        fromTheDecoder(c, new IllegalStateException("a bug"));
        endsWith(c, "internal-server-error");
      }
      assertThat(warnings.logged).singleElement().asString().contains("failed");
    }
  }

  /**
   * RFC 6120 §11.6: a stream is UTF-8. A declared encoding other than UTF-8 ends the stream with
   * {@code unsupported-encoding} before anything is read with it (Aalto would decode the stream as
   * declared: ISO-8859-1 made a resource {@code café} sent in UTF-8 {@code cafÃ©}), whether Aalto
   * decodes that encoding or not; {@code utf-8} in any case is read. A stream that starts with
   * U+FEFF (a UTF-8 byte order mark) is {@code not-well-formed}: XMPP reads it as a character,
   * which XML does not allow before the root.
   */
  @Test
  void aDeclaredEncodingOtherThanUtf8_isUnsupportedEncoding_andABomIsNotWellFormed()
      throws IOException {
    String stream = RawXmpp.HEADER.substring("<?xml version='1.0'?>".length());
    try (RawXmpp c = raw().startTls()) {
      assertThat(c.auth(String.valueOf(app.id()), app.key())).contains("<success");
      c.send("<?xml version='1.0' encoding='ISO-8859-1'?>" + stream);
      c.send(
          "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
              + "<resource>caf\u00e9</resource></bind></iq>");
      String rest = c.awaitEnd();
      assertThat(rest).doesNotContain("<jid>").contains("UTF-8 only");
      assertThat(rest).contains("<stream:error><unsupported-encoding xmlns='" + STREAMS + "'/>");
    }
    try (RawXmpp c = raw()) {
      c.send("<?xml version='1.0' encoding='UTF-16'?>" + stream);
      endsWith(c, "unsupported-encoding");
    }
    try (RawXmpp c = raw()) {
      c.send("<?xml version='1.0' encoding='utf-8'?>" + stream);
      assertThat(c.await("</stream:features>")).contains("<starttls");
    }
    try (RawXmpp c = raw()) {
      c.send("\ufeff" + RawXmpp.HEADER);
      String rest = c.awaitEnd();
      assertThat(rest).contains("U+FEFF");
      assertThat(rest).contains("<stream:error><not-well-formed xmlns='" + STREAMS + "'/>");
    }
  }

  /** Fires {@code failure} from the node's decoder of connection {@code c}. */
  /**
   * Counts what the decoder of {@code c}'s connection is given: a test sends the rest of its input
   * once the node has read the first part, so the two come in two reads.
   */
  private static ReadCounter decoderReads(RawXmpp c) {
    return ReadCounter.before(node.server().connections(), c.localAddress(), XmppServer.DECODER);
  }

  private static void fromTheDecoder(RawXmpp c, Throwable failure) {
    Channel ch = node.server().connections().find(c.localAddress());
    assertThat(ch).as("the node's end of the connection").isNotNull();
    ch.pipeline().context(XmppServer.DECODER).fireExceptionCaught(failure);
  }

  /** {@code before}, the bytes of {@code hex}, then {@code after}. */
  /** RFC 4616: a PLAIN message that is not UTF-8 is malformed, never read with U+FFFD. */
  @Test
  void saslPlain_notUtf8_isAMalformedRequest() throws IOException {
    try (RawXmpp c = raw()) {
      c.startTls();
      byte[] message = {0, '1', '2', '3', 0, 'k', (byte) 0xC0, (byte) 0xBC};
      assertThat(c.auth(message)).contains("<malformed-request/>");
    }
  }

  /**
   * RFC 6120 §6.5.2: a payload that is not base64 (RFC 4648 §4) is {@code incorrect-encoding}, not
   * read as the bytes its valid characters make; a line-wrapped payload is read.
   */
  @Test
  void saslPlain_notBase64_isIncorrectEncoding_aWrappedLineIsRead() throws IOException {
    String sasl = "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>";
    for (String payload : new String[] {"!!!", "AG!Fi", "AGFiAGNk*"}) {
      try (RawXmpp c = raw().startTls()) {
        c.send(sasl + payload + "</auth>");
        assertThat(c.await("</failure>")).as(payload).contains("<incorrect-encoding/>");
      }
    }
    String good =
        java.util.Base64.getEncoder()
            .encodeToString(
                ("\0" + app.id() + "\0" + app.key())
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    try (RawXmpp c = raw().startTls()) {
      c.send(sasl + good.substring(0, 8) + "\r\n" + good.substring(8) + "</auth>");
      assertThat(c.await("xmpp-sasl'/>")).contains("<success");
    }
  }

  @Test
  void anEntityBomb_isRestrictedXml_andNothingIsExpanded() throws IOException {
    StringBuilder dtd =
        new StringBuilder("<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY l0 'lol'>");
    for (int i = 1; i < 10; i++) {
      dtd.append("<!ENTITY l").append(i).append(" '");
      dtd.append(("&l" + (i - 1) + ";").repeat(10)).append("'>");
    }
    dtd.append("]>");
    try (RawXmpp c = raw()) {
      c.send(dtd + RawXmpp.HEADER.substring("<?xml version='1.0'?>".length()) + "<x>&l9;</x>");
      endsWith(c, "restricted-xml");
    }
    try (RawXmpp c = raw()) {
      c.send(RawXmpp.HEADER + "<message><body>&unknown;</body></message>");
      endsWith(c, "restricted-xml");
    }
    // In an attribute value as in text (Aalto refuses it there with an exception of its own).
    try (RawXmpp c = raw()) {
      c.send(RawXmpp.HEADER + "<message id='&foo;'><body>x</body></message>");
      endsWith(c, "restricted-xml");
    }
  }

  @Test
  void aTenMegabyteStanza_isAPolicyViolation_beforeItIsRead() throws Exception {
    try (RawXmpp c = raw()) {
      c.send(RawXmpp.HEADER + "<message><body>");
      byte[] chunk = "a".repeat(64 * 1024).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      Thread writer =
          new Thread(
              () -> {
                try {
                  for (int i = 0; i < 160; i++) {
                    c.send(chunk);
                  }
                } catch (IOException e) {
                  // The server ended the stream and closed: expected.
                }
              });
      writer.start();
      endsWith(c, "policy-violation");
      writer.join(10_000);
    }
  }

  /**
   * Whitespace between stanzas (keepalives) is dropped as it is read: 70 000 spaces in one write,
   * then 2 MiB more in 64 KiB writes, count toward no stanza (the limit is 64 KiB) and the stream
   * goes on; a stanza over the limit right after them is still refused.
   */
  @Test
  void whitespaceBetweenStanzas_countsTowardNoStanza() throws IOException {
    try (RawXmpp c = raw().login(app.id(), app.key())) {
      c.send(" ".repeat(70_000));
      c.send("<iq type='get' id='w1'><ping xmlns='urn:xmpp:ping'/></iq>");
      assertThat(c.await("id='w1'")).contains("type='result'");
      String chunk = "\n \t".repeat(64 * 1024 / 3);
      for (int i = 0; i < 32; i++) {
        c.send(chunk);
      }
      c.send("<iq type='get' id='w2'><ping xmlns='urn:xmpp:ping'/></iq>");
      assertThat(c.await("id='w2'")).contains("type='result'");
      c.send("  <message><body>" + "a".repeat(70_000) + "</body></message>");
      endsWith(c, "policy-violation");
    }
  }

  @Test
  void deepNesting_isAPolicyViolation() throws IOException {
    try (RawXmpp c = raw()) {
      c.send(RawXmpp.HEADER + "<message>" + "<a>".repeat(100));
      endsWith(c, "policy-violation");
    }
  }

  @Test
  void unknownNamespaces_areRefused() throws IOException {
    try (RawXmpp c = raw()) {
      c.send(
          "<stream:stream to='"
              + XmppFixture.DOMAIN
              + "' version='1.0' xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'>");
      endsWith(c, "invalid-namespace");
    }
    try (RawXmpp c = raw()) {
      c.send("<stream xmlns='urn:not-xmpp'>");
      endsWith(c, "invalid-namespace");
    }
    try (RawXmpp c = raw().login(app.id(), app.key())) {
      c.send("<foo xmlns='urn:example:unknown'/>");
      endsWith(c, "unsupported-stanza-type");
    }
  }

  @Test
  void anInvalidJid_getsJidMalformed_andTheStreamGoesOn() throws IOException {
    try (RawXmpp c = raw().login(app.id(), app.key())) {
      c.send(
          "<message type='headline' id='m1' to='not a jid@"
              + XmppFixture.DOMAIN
              + "'><body>hi</body></message>");
      String err = c.await("</message>");
      assertThat(err)
          .contains("type='error'")
          .contains("id='m1'")
          .contains("<jid-malformed")
          .doesNotContain("not a jid");
      // Over 1023 bytes (RFC 7622 §3): not echoed either.
      String local = "a".repeat(1100);
      c.send(
          "<message type='headline' id='m2' to='"
              + local
              + "@"
              + XmppFixture.DOMAIN
              + "'><body>hi</body></message>");
      assertThat(c.await("</message>"))
          .contains("id='m2'")
          .contains("<jid-malformed")
          .doesNotContain(local);
      c.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
      assertThat(c.await("id='p1'")).contains("type='result'");
    }
  }

  /**
   * An iq to a JID with a part over 1023 bytes (RFC 7622 §3) gets {@code jid-malformed}, without
   * the address echoed; a resource of invisible characters (a bidirectional override) is refused.
   */
  @Test
  void overlongJidParts_areJidMalformed_andAnInvisibleResourceIsRefused() throws IOException {
    String ping = "'><ping xmlns='urn:xmpp:ping'/></iq>";
    try (RawXmpp c = raw().login(app.id(), app.key())) {
      String local = "a".repeat(3000);
      c.send("<iq type='get' id='j1' to='" + local + "@" + XmppFixture.DOMAIN + ping);
      assertThat(c.await("</error></iq>"))
          .contains("id='j1'")
          .contains("<jid-malformed")
          .doesNotContain(local);
      String resource = "r".repeat(2000);
      c.send(
          "<iq type='get' id='j2' to='"
              + app.id()
              + "@"
              + XmppFixture.DOMAIN
              + "/"
              + resource
              + ping);
      assertThat(c.await("</error></iq>"))
          .contains("id='j2'")
          .contains("<jid-malformed")
          .doesNotContain(resource);
    }
    try (RawXmpp c = raw().startTls()) {
      assertThat(c.auth(String.valueOf(app.id()), app.key())).contains("<success");
      c.send(RawXmpp.HEADER);
      c.await("</stream:features>");
      c.send(
          "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
              + "<resource>\u202e</resource></bind></iq>");
      assertThat(c.await("</error></iq>")).contains("type='error'").contains("<bad-request");
    }
  }

  /** Authenticates a new connection, binds {@code resource} and returns the answer. */
  private static String bind(String resource) throws IOException {
    try (RawXmpp c = raw().startTls()) {
      assertThat(c.auth(String.valueOf(app.id()), app.key())).contains("<success");
      c.send(RawXmpp.HEADER);
      c.await("</stream:features>");
      c.send(
          "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>"
              + resource
              + "</resource></bind></iq>");
      return c.await("</iq>");
    }
  }

  /** Authenticates a new connection and opens the new stream, nothing bound yet. */
  private static RawXmpp authenticated() throws IOException {
    RawXmpp c = raw().startTls();
    assertThat(c.auth(String.valueOf(app.id()), app.key())).contains("<success");
    c.send(RawXmpp.HEADER);
    c.await("</stream:features>");
    return c;
  }

  private static String bindOn(RawXmpp c, String resource) throws IOException {
    c.send(
        "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>"
            + resource
            + "</resource></bind></iq>");
    return c.await("</iq>");
  }

  /**
   * RFC 6120 §7.7.2.2: a second connection that binds a full JID a session of this node has ends
   * that session with {@code conflict} (a client reconnecting after a silent drop gets its resource
   * back), which can then not be resumed; another resource of the same application ends nothing.
   */
  @Test
  void bindingATakenFullJid_endsTheOlderSessionWithConflict() throws IOException {
    String jid = app.id() + "@" + XmppFixture.DOMAIN + "/dup";
    try (RawXmpp a = authenticated();
        RawXmpp b = authenticated();
        RawXmpp other = authenticated()) {
      assertThat(bindOn(a, "dup")).contains("<jid>" + jid + "</jid>");
      a.send("<enable xmlns='" + StreamManagement.NS + "' resume='true'/>");
      String enabled = a.await("/>");
      String previd = enabled.replaceAll("(?s).*id='([^']+)'.*", "$1");
      assertThat(bindOn(b, "dup")).contains("<jid>" + jid + "</jid>");
      String end = a.awaitEnd();
      assertThat(end)
          .contains("<stream:error><conflict xmlns='" + STREAMS + "'/>")
          .endsWith("</stream:error></stream:stream>");
      assertThat(bindOn(other, "dup-other")).contains("/dup-other</jid>");
      b.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
      assertThat(b.await("id='p1'")).contains("type='result'");
      assertThat(b.closed()).isFalse();
      // The replaced session is not resumable: its client would take the JID back by surprise.
      try (RawXmpp c = authenticated()) {
        c.send("<resume xmlns='" + StreamManagement.NS + "' previd='" + previd + "' h='0'/>");
        assertThat(c.await("</failed>")).contains("<item-not-found");
      }
      b.send("<iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>");
      assertThat(b.await("id='p2'")).contains("type='result'");
    }
  }

  /**
   * A resource is 1-256 characters counted as code points, not UTF-16 units (an emoji is one), and
   * at most 1023 bytes of UTF-8 (RFC 7622 §3.4), which only 256 four-byte characters pass.
   */
  @Test
  void aResourceIsCountedInCharacters_andCappedAt1023Bytes() throws IOException {
    String emoji = "\uD83D\uDE00";
    assertThat(bind(emoji.repeat(200))).contains("<jid>").contains(emoji.repeat(200) + "</jid>");
    assertThat(bind(emoji.repeat(255))).contains("<jid>");
    assertThat(bind("a".repeat(256))).contains("<jid>");
    assertThat(bind("a".repeat(257))).contains("<bad-request").doesNotContain("<jid>");
    assertThat(bind(emoji.repeat(256))).contains("<bad-request").doesNotContain("<jid>");
    // A private-use character outside the BMP is refused as one in it is.
    assertThat(bind("a\uDB80\uDC00")).contains("<bad-request");
  }

  @Test
  void stanzasBeforeTlsOrAuthentication_areRefused() throws IOException {
    try (RawXmpp c = raw()) {
      c.send(RawXmpp.HEADER);
      assertThat(c.await("</stream:features>")).contains("<starttls").contains("<required/>");
      c.send("<message to='x@" + XmppFixture.DOMAIN + "'><body>hi</body></message>");
      endsWith(c, "policy-violation");
    }
    try (RawXmpp c = raw().startTls()) {
      c.send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>");
      endsWith(c, "not-authorized");
    }
  }

  @Test
  void wrongPasswordsInALoop_closeTheConnection() throws IOException {
    try (RawXmpp c = raw().startTls()) {
      assertThat(c.auth(String.valueOf(app.id()), "wrong-1")).contains("<not-authorized/>");
      c.auth(String.valueOf(app.id()), "wrong-2");
      endsWith(c, "policy-violation");
    }
    try (RawXmpp c = raw().startTls()) {
      assertThat(c.auth("not-a-number", "x")).contains("<not-authorized/>");
    }
  }

  /**
   * An application id is written as on every route and the update channel: {@code 0<id>} or {@code
   * +<id>} names no application, even with the application's own key, and gets what an unknown
   * application gets.
   */
  @Test
  void saslPlain_anAppIdWithALeadingZeroOrASign_isNoApplication() throws IOException {
    for (String user : new String[] {"0" + app.id(), "+" + app.id(), "00" + app.id()}) {
      try (RawXmpp c = raw().startTls()) {
        assertThat(c.auth(user, app.key())).as(user).contains("<not-authorized/>");
      }
    }
    try (RawXmpp c = raw().startTls()) {
      assertThat(c.auth(String.valueOf(app.id()), app.key())).contains("<success");
    }
  }

  /**
   * XEP-0198: {@code h} is an unsigned 32-bit number. An {@code <a/>} whose {@code h} is not one
   * ends the stream with {@code invalid-xml} saying so (not as an acknowledgement of too much); a
   * {@code <resume/>} whose {@code h} is not one fails with {@code bad-request} saying so, and the
   * stream goes on.
   */
  @Test
  void streamManagement_anHThatIsNoUnsigned32BitNumber_isRefusedAsSuch() throws IOException {
    String sm = StreamManagement.NS;
    for (String h : new String[] {"abc", "-1", "4294967296", ""}) {
      try (RawXmpp c = raw().login(app.id(), app.key())) {
        c.send("<enable xmlns='" + sm + "'/>");
        c.await("<enabled");
        c.send("<a xmlns='" + sm + "' h='" + h + "'/>");
        String rest = c.awaitEnd();
        assertThat(rest)
            .as("h='%s'", h)
            .contains("<stream:error><invalid-xml xmlns='" + STREAMS + "'/>")
            .contains("0..4294967295")
            .doesNotContain("acknowledged more");
      }
    }
    try (RawXmpp c = raw().startTls()) {
      assertThat(c.auth(String.valueOf(app.id()), app.key())).contains("<success");
      c.send(RawXmpp.HEADER);
      c.await("</stream:features>");
      c.send("<resume xmlns='" + sm + "' previd='some-id' h='4294967296'/>");
      assertThat(c.await("</failed>")).contains("<bad-request").contains("0..4294967295");
      c.send(
          "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
              + "<resource>r</resource></bind></iq>");
      assertThat(c.await("</jid>")).contains("id='b1'");
    }
  }

  @Test
  void anAbruptDisconnectMidStanza_leavesTheNodeServing() throws Exception {
    for (int i = 0; i < 3; i++) {
      RawXmpp c = raw().login(app.id(), app.key());
      c.send("<presence/><message type='headline' to='a@" + XmppFixture.DOMAIN + "'><bo");
      c.close();
    }
    @SuppressWarnings("unchecked")
    Gauge<Integer> sessions =
        (Gauge<Integer>)
            node.server().metrics().registry().getGauges().get("presence.xmpp.sessions");
    await().atMost(Duration.ofSeconds(10)).until(() -> sessions.getValue() == 0);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> node.server().updates().connections(app.id()) == 0);
    try (RawXmpp c = raw().login(app.id(), app.key())) {
      c.send("<iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>");
      assertThat(c.await("id='p2'")).contains("type='result'");
    }
  }
}
