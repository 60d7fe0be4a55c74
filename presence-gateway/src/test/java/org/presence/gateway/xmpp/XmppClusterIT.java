package org.presence.gateway.xmpp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jivesoftware.smack.packet.Message;
import org.jivesoftware.smack.packet.Presence;
import org.jivesoftware.smack.packet.StandardExtensionElement;
import org.jivesoftware.smack.roster.Roster;
import org.jivesoftware.smack.tcp.XMPPTCPConnection;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.jxmpp.jid.impl.JidCreate;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.TestCluster;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.model.PresenceStatus;

/**
 * The XMPP interface on a two-node cluster over PostgreSQL and Redis, with certificate files (a
 * cluster node has no self-signed default): an application's Smack session on node b sees the
 * presence of a device connected to node a, and its headline message reaches that device; grant
 * changes made on node a reach it as roster pushes, and so do those made on a third node that does
 * not run the interface.
 */
class XmppClusterIT {
  static {
    XmppFixture.jdkStaxForSmack();
  }

  @TempDir static Path root;
  private static TestCluster cluster;
  private static TestNode a;
  private static TestNode b;
  private static TestNode noXmpp;
  private static XmppFixture fx;
  private static Path ca;

  @BeforeAll
  static void start() throws Exception {
    XmppFixture.TlsFiles tls = XmppFixture.tlsFiles(root);
    Map<String, String> s = new HashMap<>();
    s.put("identity.dev-signing", "true");
    // The domain proof is served on loopback.
    s.put("outbound.allow-loopback", "true");
    s.put("device.handshake-rate", "0");
    s.put("updates.connect-rate", "100");
    s.put("updates.connect-burst", "100");
    s.put("xmpp.port", "0");
    s.put("xmpp.domain", XmppFixture.DOMAIN);
    s.putAll(tls.settings());
    ca = tls.cert();
    cluster = TestCluster.create(XmppClusterIT.class, root, "xmpp-node", s);
    a = cluster.start(Map.of());
    b = cluster.start(Map.of());
    noXmpp = cluster.start(Map.of("xmpp.port", "off"));
    fx = new XmppFixture();
  }

  @AfterAll
  static void stop() {
    if (fx != null) {
      fx.close();
    }
    for (TestNode n : new TestNode[] {a, b, noXmpp}) {
      if (n != null) {
        n.close();
      }
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void aSessionOnNodeB_followsADeviceOnNodeA_andNotifiesIt() throws Exception {
    XmppFixture.App app = fx.activeApp(a, "Cluster");
    String frank = fx.email("frank");
    String puid = fx.grant(a, frank, app);
    try (DeviceTestClient d = XmppFixture.device(a, frank, "phone")) {
      XmppFixture.status(d, PresenceStatus.AWAY, "on node a");
      XMPPTCPConnection c = XmppFixture.smack(b, app.id(), app.key(), "b");
      try {
        BlockingQueue<Presence> q = XmppFixture.presences(c);
        c.connect().login();
        Presence snap = q.poll(10, TimeUnit.SECONDS);
        assertThat(snap).as("snapshot").isNotNull();
        assertThat(snap.getFrom().toString()).isEqualTo(XmppFixture.jid(puid));
        assertThat(snap.getMode()).isEqualTo(Presence.Mode.away);
        assertThat(snap.getStatus()).isEqualTo("on node a");

        XmppFixture.status(d, PresenceStatus.ONLINE, "");
        Presence change = q.poll(10, TimeUnit.SECONDS);
        assertThat(change).as("change from node a").isNotNull();
        assertThat(change.getMode()).isEqualTo(Presence.Mode.available);

        c.sendStanza(
            c.getStanzaFactory()
                .buildMessageStanza()
                .ofType(Message.Type.headline)
                .to(JidCreate.from(XmppFixture.jid(puid)))
                .setBody("from node b")
                .addExtension(
                    StandardExtensionElement.builder("x", "jabber:x:oob")
                        .addElement("url", "https://example.com/b")
                        .build())
                .build());
        DeviceMessage.LiveNotification n = d.notifications().notifications().get(0);
        assertThat(n.message()).isEqualTo("from node b");
      } finally {
        c.disconnect();
      }
    }
  }

  /**
   * A key regenerated through node a ends at once a session on node b that never sent presence (the
   * change reaches b as the application's cache invalidation on the bus); a deactivation through
   * node a then ends one on node b logged in with the new key.
   */
  @Test
  void aKeyRegeneratedOrAnAppDeactivatedOnNodeA_endsQuietSessionsOnNodeB() throws Exception {
    XmppFixture.App app = fx.activeApp(a, "ClusterRekey");
    XMPPTCPConnection old = XmppFixture.smack(b, app.id(), app.key(), "old", false);
    XMPPTCPConnection fresh = null;
    try {
      CompletableFuture<Exception> oldEnded = ending(old);
      old.connect().login();
      var r = app.dev().post("/api/apps/" + app.id() + "/key", null);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      String newKey = XmppFixture.json(r).get("api_key").asText();
      assertThat(notAuthorized(oldEnded)).isEqualTo("Invalid API key: the API key was regenerated");

      fresh = XmppFixture.smack(b, app.id(), newKey, "fresh", false);
      CompletableFuture<Exception> freshEnded = ending(fresh);
      fresh.connect().login();
      r = app.dev().post("/api/apps/" + app.id() + "/deactivate", null);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(notAuthorized(freshEnded))
          .isEqualTo("Application not active: the application was deactivated");
    } finally {
      old.disconnect();
      if (fresh != null) {
        fresh.disconnect();
      }
    }
  }

  private static CompletableFuture<Exception> ending(XMPPTCPConnection c) {
    CompletableFuture<Exception> ended = new CompletableFuture<>();
    c.addConnectionListener(
        new org.jivesoftware.smack.ConnectionListener() {
          @Override
          public void connectionClosedOnError(Exception e) {
            ended.complete(e);
          }
        });
    return ended;
  }

  /** The text of the {@code not-authorized} stream error that ended a connection. */
  private static String notAuthorized(CompletableFuture<Exception> ended) throws Exception {
    Exception e = ended.get(10, TimeUnit.SECONDS);
    assertThat(e).isInstanceOf(org.jivesoftware.smack.XMPPException.StreamErrorException.class);
    org.jivesoftware.smack.packet.StreamError error =
        ((org.jivesoftware.smack.XMPPException.StreamErrorException) e).getStreamError();
    assertThat(error.getCondition())
        .isEqualTo(org.jivesoftware.smack.packet.StreamError.Condition.not_authorized);
    return error.getDescriptiveText();
  }

  @Test
  void grantChangesMadeOnNodeA_reachSessionsOnNodeB_asRosterPushes() throws Exception {
    XmppFixture.App app = fx.activeApp(a, "ClusterRoster");
    String hana = fx.email("hana");
    String ivan = fx.email("ivan");
    String hanaPuid = fx.grant(a, hana, app);
    String hanaJid = XmppFixture.jid(hanaPuid);
    XMPPTCPConnection c = XmppFixture.smack(b, app.id(), app.key(), "roster");
    BlockingQueue<String> changes = XmppFixture.rosterChanges(c);
    Roster roster = Roster.getInstanceFor(c);
    try {
      c.connect().login();
      roster.reloadAndWait();
      XmppFixture.awaitRosterChange(changes, "added " + hanaJid);

      // Each change is made through node a's API; the session is on node b.
      fx.setEnabled(a, hana, hanaPuid, false);
      XmppFixture.awaitRosterChange(changes, "deleted " + hanaJid);
      fx.setEnabled(a, hana, hanaPuid, true);
      XmppFixture.awaitRosterChange(changes, "added " + hanaJid);
      assertThat(roster.getEntry(JidCreate.bareFrom(hanaJid)).getName()).isEqualTo("as " + hana);
      String ivanPuid = fx.grant(a, ivan, app);
      String ivanJid = XmppFixture.jid(ivanPuid);
      XmppFixture.awaitRosterChange(changes, "added " + ivanJid);
      java.net.http.HttpResponse<String> revoked =
          org.presence.gateway.testing.ApiClient.forEmail(a, ivan)
              .delete("/api/grants/" + ivanPuid);
      assertThat(revoked.statusCode()).as(revoked.body()).isEqualTo(200);
      XmppFixture.awaitRosterChange(changes, "deleted " + ivanJid);
    } finally {
      c.disconnect();
    }
  }

  /**
   * A node without the XMPP interface still publishes its grant changes: a pause made through it
   * removes the PUID from the roster of a session on node b (not only its presence), and a resume
   * adds it again.
   */
  @Test
  void grantChangesMadeOnANodeWithoutXmpp_reachSessionsOnNodeB_asRosterPushes() throws Exception {
    assertThat(noXmpp.server().xmppAddress()).isNull();
    XmppFixture.App app = fx.activeApp(noXmpp, "ClusterRosterNoXmpp");
    String jana = fx.email("jana");
    String puid = fx.grant(noXmpp, jana, app);
    String jid = XmppFixture.jid(puid);
    XMPPTCPConnection c = XmppFixture.smack(b, app.id(), app.key(), "roster-no-xmpp");
    BlockingQueue<String> changes = XmppFixture.rosterChanges(c);
    Roster roster = Roster.getInstanceFor(c);
    try {
      c.connect().login();
      roster.reloadAndWait();
      XmppFixture.awaitRosterChange(changes, "added " + jid);
      fx.setEnabled(noXmpp, jana, puid, false);
      XmppFixture.awaitRosterChange(changes, "deleted " + jid);
      assertThat(roster.getEntry(JidCreate.bareFrom(jid))).isNull();
      fx.setEnabled(noXmpp, jana, puid, true);
      XmppFixture.awaitRosterChange(changes, "added " + jid);
    } finally {
      c.disconnect();
    }
  }

  @Test
  void slixmppOnNodeB_followsADeviceOnNodeA_andNotifiesIt() throws Exception {
    SlixmppScript.require();
    XmppFixture.App app = fx.activeApp(a, "ClusterSlix");
    String gina = fx.email("gina");
    String puid = fx.grant(a, gina, app);
    String jid = XmppFixture.jid(puid);
    try (DeviceTestClient d = XmppFixture.device(a, gina, "phone")) {
      XmppFixture.status(d, PresenceStatus.AWAY, "on node a");
      try (SlixmppScript s = new SlixmppScript(b.server().xmppAddress(), app, "b", false, ca)) {
        JsonNode snap = s.presence(jid);
        assertThat(snap.get("show").asText()).isEqualTo("away");
        assertThat(snap.get("status").asText()).isEqualTo("on node a");
        XmppFixture.status(d, PresenceStatus.ONLINE, "");
        JsonNode change = s.presence(jid);
        assertThat(change.get("type").asText()).isEqualTo("available");
        assertThat(change.get("show").isNull()).isTrue();
        s.command(
            XmppFixture.JSON
                .createObjectNode()
                .put("cmd", "notify")
                .put("to", jid)
                .put("body", "from slixmpp on node b")
                .put("url", "https://example.com/b"));
        DeviceMessage.LiveNotification n = d.notifications().notifications().get(0);
        assertThat(n.message()).isEqualTo("from slixmpp on node b");
        s.command(XmppFixture.JSON.createObjectNode().put("cmd", "quit"));
        assertThat(s.exit()).as("script's exit status:\n%s", s.log()).isZero();
      }
    }
  }
}
