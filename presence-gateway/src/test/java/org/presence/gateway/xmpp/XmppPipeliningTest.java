package org.presence.gateway.xmpp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.RawWebSocket;
import org.presence.gateway.testing.ReadCounter;

/**
 * Elements a client sends in one write behind one the node answers asynchronously (XEP-0305
 * pipelining), over real sockets: each is handled in order once the first is answered; the bytes
 * after a successful {@code <auth/>} are the new stream's (RFC 6120 §6.4.6), those after a failed
 * one the same stream's; those after {@code <starttls/>}, sent in clear text, are never read (RFC
 * 6120 §5.4.3.3). The answers come well before {@code xmpp.auth-timeout} (10 s), which the node
 * would wait for if it dropped them.
 */
class XmppPipeliningTest {
  private static final String SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
  private static final String BIND =
      "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
          + "<resource>r</resource></bind></iq>";
  private static final long ANSWER_MS = 5_000;

  @TempDir static Path dataDir;
  private static XmppTestNode xmpp;
  private static XmppFixture.App app;

  @BeforeAll
  static void start() {
    xmpp = XmppTestNode.start(dataDir, "Pipelining", Map.of());
    app = xmpp.app;
  }

  @AfterAll
  static void stop() {
    if (xmpp != null) {
      xmpp.close();
    }
  }

  private static RawXmpp tls() throws IOException {
    return xmpp.tls();
  }

  private static String user() {
    return xmpp.user();
  }

  @Test
  void aFailedAuth_thenAGoodOneInTheSameWrite_bothAnsweredInOrder() throws IOException {
    try (RawXmpp c = tls()) {
      c.send(RawXmpp.authElement(user(), "wrong") + RawXmpp.authElement(user(), app.key()));
      assertThat(c.await("</failure>", ANSWER_MS))
          .contains("<not-authorized/>")
          .doesNotContain("<success");
      c.await("<success xmlns='" + SASL + "'/>", ANSWER_MS);
      c.send(RawXmpp.HEADER);
      assertThat(c.await("</stream:features>", ANSWER_MS)).contains("<bind");
    }
  }

  @Test
  void aFailedAuth_thenAbortInTheSameWrite_isAborted() throws IOException {
    try (RawXmpp c = tls()) {
      c.send(RawXmpp.authElement(user(), "wrong") + "<abort xmlns='" + SASL + "'/>");
      assertThat(c.await("</failure>", ANSWER_MS)).contains("<not-authorized/>");
      assertThat(c.await("</failure>", ANSWER_MS)).contains("<aborted/>");
    }
  }

  /**
   * The new stream's header, a bind and a ping right behind the {@code <auth/>}, the last one cut
   * by a second write: the new stream is read from the byte after {@code </auth>}.
   */
  @Test
  void aGoodAuth_withTheNewStreamAndABindInTheSameWrite_bindsTheResource() throws Exception {
    try (RawXmpp c = tls()) {
      String ping = "<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>";
      ReadCounter reads =
          ReadCounter.before(
              xmpp.node.server().connections(), c.localAddress(), XmppServer.DECODER);
      String first =
          RawXmpp.authElement(user(), app.key()) + RawXmpp.HEADER + BIND + ping.substring(0, 20);
      c.send(first);
      // The rest once the node has read that (decrypted): in a later read.
      reads.awaitBytes(first.getBytes(StandardCharsets.UTF_8).length);
      c.send(ping.substring(20));
      c.await("<success xmlns='" + SASL + "'/>", ANSWER_MS);
      assertThat(c.await("</stream:features>", ANSWER_MS)).contains("<bind");
      assertThat(c.await("</jid>", ANSWER_MS)).contains("id='b1'").contains("/r</jid>");
      assertThat(c.await("id='p1'", ANSWER_MS)).contains("type='result'");
    }
  }

  /** After a failed resumption, the bind the client sent with it (XEP-0198 §5) is answered. */
  @Test
  void aFailedResume_withABindInTheSameWrite_bindsTheResource() throws IOException {
    try (RawXmpp c = tls()) {
      assertThat(c.auth(user(), app.key())).contains("<success");
      c.send(RawXmpp.HEADER);
      c.await("</stream:features>", ANSWER_MS);
      c.send("<resume xmlns='" + StreamManagement.NS + "' previd='no-such-id' h='0'/>" + BIND);
      assertThat(c.await("</failed>", ANSWER_MS)).contains("<item-not-found");
      assertThat(c.await("</jid>", ANSWER_MS)).contains("id='b1'");
    }
  }

  /**
   * A stream header and an {@code <auth/>} sent in clear text with {@code <starttls/>} are dropped,
   * never read as if they had come over TLS (the STARTTLS command injection, CVE-2011-0411): over
   * TLS the stream starts afresh and the client is not authenticated.
   */
  @Test
  void whatComesWithStartTls_isNeverReadAsEncrypted() throws IOException {
    try (RawXmpp c = xmpp.raw()) {
      c.send(RawXmpp.HEADER);
      c.await("</stream:features>", ANSWER_MS);
      c.send(
          "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
              + RawXmpp.HEADER
              + RawXmpp.authElement(user(), app.key()));
      c.await("<proceed", ANSWER_MS);
      c.handshake();
      c.send(RawXmpp.HEADER);
      assertThat(c.await("</stream:features>", ANSWER_MS))
          .contains("<mechanism>PLAIN</mechanism>")
          .doesNotContain("<success")
          .doesNotContain("<bind");
      assertThat(c.auth(user(), app.key())).startsWith("<success");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The same over WebSocket (RFC 7395), where the framing handler feeds the same decoder

  private static final Duration WS_WAIT = Duration.ofMillis(ANSWER_MS);

  /** The next text message within the wait, failing when none comes. */
  private static String next(RawWebSocket ws) throws IOException {
    String m = ws.readText(WS_WAIT, true);
    assertThat(m).as("a message within %s", WS_WAIT).isNotNull();
    return m;
  }

  private static byte[] frames(String... messages) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Random random = new Random();
    for (String m : messages) {
      out.writeBytes(
          RawWebSocket.frame(RawWebSocket.TEXT, true, m.getBytes(StandardCharsets.UTF_8), random));
    }
    return out.toByteArray();
  }

  /**
   * A failed and a good {@code <auth/>} in one message: answered in order, the second a success.
   */
  @Test
  void overWebSocket_aFailedAuth_thenAGoodOneInOneMessage_bothAnsweredInOrder() throws IOException {
    try (RawWebSocket ws = xmpp.webSocket(WS_WAIT)) {
      ws.sendText(RawXmpp.authElement(user(), "wrong") + RawXmpp.authElement(user(), app.key()));
      assertThat(next(ws)).startsWith("<failure").contains("<not-authorized/>");
      assertThat(next(ws)).startsWith("<success");
      ws.sendText(XmppTestNode.OPEN);
      assertThat(next(ws)).startsWith("<open ");
      assertThat(next(ws)).startsWith("<stream:features").contains("<bind");
    }
  }

  /**
   * The {@code <auth/>}, the new stream's {@code <open/>}, a bind and a ping, each a message of its
   * own, all in one write (so one read of the node): each is answered, in order, after the {@code
   * <success/>}.
   */
  @Test
  void overWebSocket_aGoodAuth_withTheOpenABindAndAPingInConsecutiveMessages_allAnswered()
      throws Exception {
    String bind =
        "<iq xmlns='jabber:client' type='set' id='b1'><bind"
            + " xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>";
    String ping = "<iq xmlns='jabber:client' type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>";
    try (RawWebSocket ws = xmpp.webSocket(WS_WAIT)) {
      ByteArrayOutputStream write = new ByteArrayOutputStream();
      write.writeBytes(frames(RawXmpp.authElement(user(), app.key()), XmppTestNode.OPEN, bind));
      // The ping's first fragment in the same write, its rest in a later read.
      write.writeBytes(
          RawWebSocket.frame(
              RawWebSocket.TEXT,
              false,
              ping.substring(0, 30).getBytes(StandardCharsets.UTF_8),
              new Random()));
      ReadCounter reads = ReadCounter.first(xmpp.node.server().connections(), ws.localAddress());
      ws.sendBytes(write.toByteArray());
      // The rest once the node has read that write: in a later read.
      reads.awaitBytes(write.size());
      ws.send(RawWebSocket.CONTINUATION, true, ping.substring(30).getBytes(StandardCharsets.UTF_8));
      assertThat(next(ws)).startsWith("<success");
      assertThat(next(ws)).startsWith("<open ");
      assertThat(next(ws)).startsWith("<stream:features").contains("<bind");
      assertThat(next(ws)).contains("id='b1'").contains("type='result'").contains("/r</jid>");
      assertThat(next(ws)).contains("id='p1'").contains("type='result'");
    }
  }

  /** A failed resumption and the bind sent with it in one message: the bind is answered. */
  @Test
  void overWebSocket_aFailedResume_withABindInOneMessage_bindsTheResource() throws IOException {
    try (RawWebSocket ws = xmpp.webSocket(WS_WAIT)) {
      ws.sendText(RawXmpp.authElement(user(), app.key()));
      assertThat(next(ws)).startsWith("<success");
      ws.sendText(XmppTestNode.OPEN);
      assertThat(next(ws)).startsWith("<open ");
      assertThat(next(ws)).startsWith("<stream:features");
      ws.sendText(
          "<resume xmlns='"
              + StreamManagement.NS
              + "' previd='no-such-id' h='0'/>"
              + "<iq xmlns='jabber:client' type='set' id='b1'><bind"
              + " xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>");
      assertThat(next(ws)).startsWith("<failed").contains("<item-not-found");
      assertThat(next(ws)).contains("id='b1'").contains("type='result'");
    }
  }
}
