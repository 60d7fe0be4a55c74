package org.presence.gateway.xmpp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.gateway.xmpp.XmppFixture.jid;
import static org.presence.gateway.xmpp.XmppFixture.nextPresence;
import static org.presence.gateway.xmpp.XmppFixture.presences;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jivesoftware.smack.packet.Presence;
import org.jivesoftware.smack.tcp.XMPPTCPConnection;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.model.PresenceStatus;

/**
 * Stream management (XEP-0198) with resumption: Smack and slixmpp enable it, lose their TCP
 * connection abruptly, resume, and get what changed meanwhile (from the update log) and nothing
 * twice; the counts by hand; a resumption with an unknown or expired id gets {@code <failed/>}.
 */
class XmppStreamManagementTest {
  private static final long WAIT = 10;
  private static final String SM = "urn:xmpp:sm:3";

  static {
    XmppFixture.jdkStaxForSmack();
  }

  @TempDir static Path dataDir;
  private static TestNode node;
  private static XmppFixture fx;
  private static Path ca;
  private final List<AutoCloseable> open = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    XmppFixture.TlsFiles tls = XmppFixture.tlsFiles(dataDir);
    ca = tls.cert();
    node = XmppFixture.node(dataDir.resolve("node"), tls.settings());
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

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
    open.clear();
  }

  private DeviceTestClient device(String email) {
    DeviceTestClient d = XmppFixture.device(node, email, "phone");
    open.add(d);
    return d;
  }

  private void awaitNoConnection(XmppFixture.App app) {
    await()
        .atMost(Duration.ofSeconds(WAIT))
        .until(() -> node.server().updates().connections(app.id()) == 0);
  }

  @Test
  void smack_resumesAfterADroppedConnection_andGetsWhatChangedMeanwhile_once() throws Exception {
    XmppFixture.App app = fx.activeApp(node, "SmResume");
    String alice = fx.email("sm-alice");
    String bob = fx.email("sm-bob");
    String alicePuid = fx.grant(node, alice, app);
    String bobPuid = fx.grant(node, bob, app);
    DeviceTestClient aliceDevice = device(alice);
    XmppFixture.status(aliceDevice, PresenceStatus.ONLINE, "one");

    XMPPTCPConnection c = XmppFixture.smack(node, app.id(), app.key(), "sm");
    c.setReplyTimeout(TimeUnit.SECONDS.toMillis(WAIT));
    open.add(c::disconnect);
    BlockingQueue<Presence> q = presences(c);
    c.connect().login();
    assertThat(c.isSmEnabled()).as("stream management enabled").isTrue();

    assertThat(nextPresence(q, jid(alicePuid)).getStatus()).isEqualTo("one");
    XmppFixture.status(aliceDevice, PresenceStatus.AWAY, "two");
    assertThat(nextPresence(q, jid(alicePuid)).getStatus()).isEqualTo("two");

    // The connection drops (no </stream:stream>): the node sees the socket close.
    c.instantShutdown();
    assertThat(c.isSmResumptionPossible()).as("resumable").isTrue();
    awaitNoConnection(app);

    // Changes while the application is away.
    XmppFixture.status(aliceDevice, PresenceStatus.UNAVAILABLE, "three");
    DeviceTestClient bobDevice = device(bob);
    XmppFixture.status(bobDevice, PresenceStatus.ONLINE, "four");

    c.connect().login();
    assertThat(c.streamWasResumed()).as("the stream was resumed").isTrue();
    assertThat(c.getUser().toString()).isEqualTo(app.id() + "@" + XmppFixture.DOMAIN + "/sm");
    // Alice's "two" (acknowledged before the drop) does not come again: "three" is next.
    Presence three = nextPresence(q, jid(alicePuid));
    assertThat(three.getMode()).isEqualTo(Presence.Mode.xa);
    assertThat(three.getStatus()).isEqualTo("three");
    Presence four = nextPresence(q, jid(bobPuid));
    while (!"four".equals(four.getStatus())) {
      // Bob's device connecting may show him online (no message) first.
      four = nextPresence(q, jid(bobPuid));
    }

    // And the session goes on.
    XmppFixture.status(aliceDevice, PresenceStatus.OFFLINE, "");
    assertThat(nextPresence(q, jid(alicePuid)).getType()).isEqualTo(Presence.Type.unavailable);
    Thread.sleep(300);
    assertThat(q)
        .as("nothing twice")
        .allMatch(p -> !jid(alicePuid).equals(p.getFrom().asBareJid().toString()));
    assertThat(node.server().metrics().registry().counter("presence.xmpp.resumed").getCount())
        .isPositive();
  }

  /** TLS, SASL and the stream after it (its features), without binding. */
  private static RawXmpp authenticated(XmppFixture.App app, StringBuilder features)
      throws Exception {
    RawXmpp x = RawXmpp.connect(node.server().xmppAddress().getPort()).startTls();
    String answer = x.auth(String.valueOf(app.id()), app.key());
    assertThat(answer).contains("<success");
    x.send(RawXmpp.HEADER);
    features.append(x.await("</stream:features>"));
    return x;
  }

  private static String attr(String xml, String element, String name) {
    Matcher m = Pattern.compile("<" + element + "\\b[^>]*\\b" + name + "='([^']*)'").matcher(xml);
    assertThat(m.find()).as("%s/@%s in %s", element, name, xml).isTrue();
    return m.group(1);
  }

  @Test
  void byHand_countsBothWays_resumesWithTheCounts_andRefusesAnUnknownIdOrTooHighH()
      throws Exception {
    XmppFixture.App app = fx.activeApp(node, "SmRaw");
    String erin = fx.email("sm-erin");
    String puid = fx.grant(node, erin, app);
    DeviceTestClient d = device(erin);
    XmppFixture.status(d, PresenceStatus.ONLINE, "first");

    StringBuilder features = new StringBuilder();
    RawXmpp x = authenticated(app, features);
    open.add(x);
    assertThat(features.toString()).contains("<sm xmlns='" + SM + "'/>");
    // Not before binding.
    x.send("<enable xmlns='" + SM + "' resume='true'/>");
    assertThat(x.await("</failed>")).contains("unexpected-request");
    x.send(
        "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
            + "<resource>r</resource></bind></iq>");
    x.await("</jid>");
    x.send("<enable xmlns='" + SM + "' resume='true'/>");
    String enabled = x.await("/>");
    assertThat(attr(enabled, "enabled", "resume")).isEqualTo("true");
    assertThat(attr(enabled, "enabled", "max")).isEqualTo("3600");
    String id = attr(enabled, "enabled", "id");

    x.send("<r xmlns='" + SM + "'/>");
    assertThat(x.await("/>")).contains("<a xmlns='" + SM + "' h='0'/>");
    x.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq><presence/>");
    x.await("first</status></presence>");
    x.send("<r xmlns='" + SM + "'/>");
    assertThat(x.await("/>")).contains("h='2'");
    // Two stanzas came: the ping's result and the snapshot's presence; both acknowledged.
    x.send("<a xmlns='" + SM + "' h='2'/>");
    x.close();
    awaitNoConnection(app);
    XmppFixture.status(d, PresenceStatus.AWAY, "second");

    // An unknown id: failed, and the stream goes on (a fresh session can bind).
    RawXmpp y = authenticated(app, new StringBuilder());
    open.add(y);
    y.send("<resume xmlns='" + SM + "' previd='no-such-id' h='0'/>");
    assertThat(y.await("</failed>")).contains("item-not-found");
    // The right id, acknowledging what the first connection had: only "second" follows.
    y.send("<resume xmlns='" + SM + "' previd='" + id + "' h='2'/>");
    String resumed = y.await("second</status></presence>");
    assertThat(attr(resumed, "resumed", "h")).isEqualTo("2");
    assertThat(attr(resumed, "resumed", "previd")).isEqualTo(id);
    assertThat(resumed).doesNotContain("first").contains("from='" + jid(puid) + "'");
    // The same id again is gone (taken by this connection, which is still open).
    RawXmpp z = authenticated(app, new StringBuilder());
    open.add(z);
    z.send("<resume xmlns='" + SM + "' previd='" + id + "' h='5'/>");
    assertThat(z.await("</failed>")).contains("undefined-condition");
    // Acknowledging more than was sent ends the stream.
    y.send("<a xmlns='" + SM + "' h='7'/>");
    assertThat(y.await("</stream:stream>")).contains("undefined-condition");
  }

  @Test
  void aStreamTheClientClosed_cannotBeResumed() throws Exception {
    XmppFixture.App app = fx.activeApp(node, "SmClosed");
    RawXmpp x = RawXmpp.connect(node.server().xmppAddress().getPort()).login(app.id(), app.key());
    open.add(x);
    x.send("<enable xmlns='" + SM + "' resume='true'/>");
    String id = attr(x.await("/>"), "enabled", "id");
    x.send("</stream:stream>");
    x.awaitEnd();
    awaitNoConnection(app);
    RawXmpp y = authenticated(app, new StringBuilder());
    open.add(y);
    y.send("<resume xmlns='" + SM + "' previd='" + id + "' h='0'/>");
    assertThat(y.await("</failed>")).contains("item-not-found");
  }

  @Test
  void aResumptionAfterTheWindow_fails_andAFreshSessionStarts() throws Exception {
    try (TestNode short1 =
            XmppFixture.node(dataDir.resolve("short"), Map.of("xmpp.resume-window", "1s"));
        XmppFixture f = new XmppFixture()) {
      XmppFixture.App app = f.activeApp(short1, "SmExpired");
      RawXmpp x =
          RawXmpp.connect(short1.server().xmppAddress().getPort()).login(app.id(), app.key());
      x.send("<enable xmlns='" + SM + "' resume='true'/>");
      String id = attr(x.await("/>"), "enabled", "id");
      x.close();
      await()
          .atMost(Duration.ofSeconds(WAIT))
          .until(() -> short1.server().updates().connections(app.id()) == 0);
      Thread.sleep(1500);
      try (RawXmpp y = RawXmpp.connect(short1.server().xmppAddress().getPort()).startTls()) {
        assertThat(y.auth(String.valueOf(app.id()), app.key())).contains("<success");
        y.send(RawXmpp.HEADER);
        y.await("</stream:features>");
        y.send("<resume xmlns='" + SM + "' previd='" + id + "' h='0'/>");
        assertThat(y.await("</failed>")).contains("item-not-found");
        y.send(
            "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                + "<resource>r</resource></bind></iq>");
        assertThat(y.await("</jid>")).contains("/r</jid>");
      }
    }
  }

  @Test
  void slixmpp_resumesAfterADroppedConnection_andGetsWhatChangedMeanwhile() throws Exception {
    SlixmppScript.require();
    XmppFixture.App app = fx.activeApp(node, "SmSlix");
    String fred = fx.email("sm-fred");
    String puid = fx.grant(node, fred, app);
    DeviceTestClient d = device(fred);
    XmppFixture.status(d, PresenceStatus.ONLINE, "one");
    try (SlixmppScript s =
        new SlixmppScript(node.server().xmppAddress(), app, "slix", false, ca, List.of("--sm"))) {
      JsonNode on = s.next(e -> e.path("event").asText().equals("sm_enabled"));
      assertThat(on.get("resume").asBoolean()).isTrue();
      assertThat(s.presence(jid(puid)).get("status").asText()).isEqualTo("one");
      XmppFixture.status(d, PresenceStatus.AWAY, "two");
      assertThat(s.presence(jid(puid)).get("status").asText()).isEqualTo("two");

      s.command(XmppFixture.JSON.readTree("{\"cmd\":\"drop\"}"));
      s.next(e -> e.path("event").asText().equals("dropped"));
      XmppFixture.status(d, PresenceStatus.UNAVAILABLE, "three");
      s.next(e -> e.path("event").asText().equals("resumed"));
      JsonNode three = s.presence(jid(puid));
      assertThat(three.get("show").asText()).isEqualTo("xa");
      assertThat(three.get("status").asText()).isEqualTo("three");
      XmppFixture.status(d, PresenceStatus.ONLINE, "four");
      assertThat(s.presence(jid(puid)).get("status").asText()).isEqualTo("four");
      s.command(XmppFixture.JSON.readTree("{\"cmd\":\"quit\"}"));
      assertThat(s.exit()).isZero();
    }
  }
}
