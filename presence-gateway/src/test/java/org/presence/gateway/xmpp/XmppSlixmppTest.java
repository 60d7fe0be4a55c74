package org.presence.gateway.xmpp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.model.PresenceStatus;

/**
 * The XMPP interface with a second independent client, slixmpp (Debian's {@code python3-slixmpp},
 * run by {@code /usr/bin/python3} on {@code xmpp/slixmpp_client.py}), against an embedded node on
 * loopback whose certificate (made here, set as {@code xmpp.tls-cert}) the script trusts as its
 * only CA: over STARTTLS on {@code xmpp.port} and over direct TLS (XEP-0368) on {@code
 * xmpp.tls-port}. The script reports what it sees as JSON lines and takes commands on stdin. Skips
 * without slixmpp, unless under {@code bin/test-all} (whose {@code bin/backends} installs it),
 * where that fails.
 */
class XmppSlixmppTest {

  @TempDir static Path dataDir;
  private static TestNode node;
  private static XmppFixture fx;
  private static Path ca;

  @BeforeAll
  static void start() throws Exception {
    SlixmppScript.require();
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

  @Test
  void overStartTls_slixmppGetsTheRosterAndPresence_followsAPause_andSendsANotification()
      throws Exception {
    flow(node.server().xmppAddress(), false, "Slix");
  }

  @Test
  void overDirectTls_theSameFlowWorks() throws Exception {
    InetSocketAddress direct = node.server().xmppTlsAddress();
    assertThat(direct).as("xmpp.tls-port is on in the embedded default").isNotNull();
    assertThat(direct.getPort()).isNotEqualTo(node.server().xmppAddress().getPort());
    flow(direct, true, "SlixTls");
  }

  private void flow(InetSocketAddress at, boolean directTls, String appName) throws Exception {
    XmppFixture.App app = fx.activeApp(node, appName);
    String alice = fx.email("alice-" + appName);
    String bob = fx.email("bob-" + appName);
    String alicePuid = fx.grant(node, alice, app);
    String bobPuid = fx.grant(node, bob, app);
    String aliceJid = XmppFixture.jid(alicePuid);
    String bobJid = XmppFixture.jid(bobPuid);
    DeviceTestClient bobDevice = null;
    try (DeviceTestClient aliceDevice = XmppFixture.device(node, alice, "phone")) {
      XmppFixture.status(aliceDevice, PresenceStatus.AWAY, "at lunch");
      // Bob has no device until the snapshot is in: offline users are not in it.
      try (SlixmppScript s = new SlixmppScript(at, app, "slix", directTls, ca)) {
        JsonNode session = s.next(e -> e.path("event").asText().equals("session"));
        assertThat(session.get("jid").asText())
            .isEqualTo(app.id() + "@" + XmppFixture.DOMAIN + "/slix");
        assertThat(session.get("tls").asBoolean()).isTrue();
        assertThat(session.get("direct_tls").asBoolean()).isEqualTo(directTls);

        JsonNode roster = s.next(e -> e.path("event").asText().equals("roster")).get("items");
        assertThat(roster.size()).isEqualTo(2);
        assertThat(roster.get(aliceJid).asText()).isEqualTo("as " + alice);
        assertThat(roster.get(bobJid).asText()).isEqualTo("as " + bob);

        JsonNode snap = s.presence(aliceJid);
        assertThat(snap.get("type").asText()).isEqualTo("available");
        assertThat(snap.get("show").asText()).isEqualTo("away");
        assertThat(snap.get("status").asText()).isEqualTo("at lunch");

        // A change a device makes.
        bobDevice = XmppFixture.device(node, bob, "phone");
        XmppFixture.status(bobDevice, PresenceStatus.ONLINE, "");
        JsonNode b = s.presence(bobJid);
        assertThat(b.get("type").asText()).isEqualTo("available");
        assertThat(b.get("show").isNull()).isTrue();
        XmppFixture.status(aliceDevice, PresenceStatus.UNAVAILABLE, "");
        assertThat(s.presence(aliceJid).get("show").asText()).isEqualTo("xa");

        // A pause removes Alice (roster push, unavailable); a resume brings her back with her
        // state.
        fx.setEnabled(node, alice, alicePuid, false);
        assertThat(s.rosterPush(aliceJid).get("subscription").asText()).isEqualTo("remove");
        assertThat(s.presence(aliceJid).get("type").asText()).isEqualTo("unavailable");
        fx.setEnabled(node, alice, alicePuid, true);
        assertThat(s.rosterPush(aliceJid).get("subscription").asText()).isEqualTo("to");
        JsonNode back = s.presence(aliceJid);
        assertThat(back.get("type").asText()).isEqualTo("available");
        assertThat(back.get("show").asText()).isEqualTo("xa");

        // A headline message with an OOB URL reaches Bob's device; its receipt comes back.
        s.command(
            XmppFixture.JSON
                .createObjectNode()
                .put("cmd", "notify")
                .put("to", bobJid)
                .put("body", "Your table is ready")
                .put("url", "https://example.com/table")
                .put("receipt", true)
                .put("id", "slix-1"));
        assertThat(s.next(e -> e.path("event").asText().equals("sent")).get("id").asText())
            .isEqualTo("slix-1");
        DeviceMessage.LiveNotification n = bobDevice.notifications().notifications().get(0);
        assertThat(n.message()).isEqualTo("Your table is ready");
        assertThat(n.action()).isEqualTo("https://example.com/table");
        assertThat(n.appId()).isEqualTo(app.id());
        JsonNode receipt =
            s.next(
                e ->
                    e.path("event").asText().equals("message")
                        && e.path("receipt").asText().equals("slix-1"));
        assertThat(receipt.get("from").asText()).isEqualTo(bobJid);

        // An invalid one (no URL) gets the matching stanza error.
        s.command(
            XmppFixture.JSON
                .createObjectNode()
                .put("cmd", "notify")
                .put("to", "nobody@" + XmppFixture.DOMAIN)
                .put("body", "hi")
                .put("url", "https://example.com/"));
        JsonNode err =
            s.next(e -> e.path("event").asText().equals("message") && !e.path("error").isNull());
        assertThat(err.get("type").asText()).isEqualTo("error");
        assertThat(err.get("error").asText()).isEqualTo("item-not-found");

        s.command(XmppFixture.JSON.createObjectNode().put("cmd", "quit"));
        s.next(e -> e.path("event").asText().equals("disconnected"));
        assertThat(s.exit()).as("script's exit status:\n%s", s.log()).isZero();
      }
    } finally {
      if (bobDevice != null) {
        bobDevice.close();
      }
    }
  }
}
