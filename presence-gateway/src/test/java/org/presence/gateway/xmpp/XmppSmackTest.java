package org.presence.gateway.xmpp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.jivesoftware.smack.filter.StanzaTypeFilter;
import org.jivesoftware.smack.packet.Message;
import org.jivesoftware.smack.packet.Presence;
import org.jivesoftware.smack.packet.StandardExtensionElement;
import org.jivesoftware.smack.packet.StanzaError;
import org.jivesoftware.smack.roster.Roster;
import org.jivesoftware.smack.roster.RosterEntry;
import org.jivesoftware.smack.sasl.SASLErrorException;
import org.jivesoftware.smack.tcp.XMPPTCPConnection;
import org.jivesoftware.smackx.ping.PingManager;
import org.jivesoftware.smackx.receipts.DeliveryReceipt;
import org.jivesoftware.smackx.receipts.DeliveryReceiptRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.jxmpp.jid.Jid;
import org.jxmpp.jid.impl.JidCreate;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.model.PresenceStatus;

/**
 * The XMPP interface with a real, independent client: Smack (its TCP connection, STARTTLS, SASL
 * PLAIN, roster, ping and receipts) against an embedded node on loopback, with users' devices on
 * the device channel.
 */
class XmppSmackTest {
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(XmppSmackTest.class);
  private static final long WAIT = 10;

  static {
    XmppFixture.jdkStaxForSmack();
  }

  @TempDir static Path dataDir;
  private static TestNode node;
  private static XmppFixture fx;
  private final java.util.List<AutoCloseable> open = new java.util.ArrayList<>();

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

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
    open.clear();
  }

  private XMPPTCPConnection connect(XmppFixture.App app, String key, String resource)
      throws Exception {
    XMPPTCPConnection c = XmppFixture.smack(node, app.id(), key, resource);
    c.setReplyTimeout(TimeUnit.SECONDS.toMillis(WAIT));
    open.add(c::disconnect);
    return c;
  }

  private DeviceTestClient device(String email) {
    DeviceTestClient d = XmppFixture.device(node, email, "phone");
    open.add(d);
    return d;
  }

  private static Jid jid(String puid) throws Exception {
    return JidCreate.from(XmppFixture.jid(puid));
  }

  @Test
  void anAppLogsIn_getsItsRoster_theSnapshotAndEveryChange_onEachResource() throws Exception {
    XmppFixture.App app = fx.activeApp(node, "Chat");
    String alice = fx.email("alice");
    String bob = fx.email("bob");
    String alicePuid = fx.grant(node, alice, app);
    String bobPuid = fx.grant(node, bob, app);
    DeviceTestClient aliceDevice = device(alice);
    XmppFixture.status(aliceDevice, PresenceStatus.AWAY, "at lunch");

    XMPPTCPConnection one = connect(app, app.key(), "one");
    XMPPTCPConnection two = connect(app, app.key(), "two");
    BlockingQueue<Presence> p1 = XmppFixture.presences(one);
    BlockingQueue<Presence> p2 = XmppFixture.presences(two);
    one.connect().login();
    two.connect().login();
    assertThat(one.isSecureConnection()).isTrue();
    assertThat(one.getUser().toString()).isEqualTo(app.id() + "@" + XmppFixture.DOMAIN + "/one");

    Roster roster = Roster.getInstanceFor(one);
    roster.reloadAndWait();
    Map<String, String> items =
        roster.getEntries().stream()
            .collect(Collectors.toMap(e -> e.getJid().toString(), RosterEntry::getName));
    assertThat(items)
        .containsEntry(jid(alicePuid).toString(), "as " + alice)
        .containsEntry(jid(bobPuid).toString(), "as " + bob)
        .hasSize(2);

    // The snapshot: Alice is away with her message; Bob (offline) is not sent.
    for (BlockingQueue<Presence> q : java.util.List.of(p1, p2)) {
      Presence snap = XmppFixture.nextPresence(q, jid(alicePuid));
      assertThat(snap.getType()).isEqualTo(Presence.Type.available);
      assertThat(snap.getMode()).isEqualTo(Presence.Mode.away);
      assertThat(snap.getStatus()).isEqualTo("at lunch");
    }

    DeviceTestClient bobDevice = device(bob);
    XmppFixture.status(bobDevice, PresenceStatus.ONLINE, "");
    XmppFixture.status(aliceDevice, PresenceStatus.UNAVAILABLE, "");
    for (BlockingQueue<Presence> q : java.util.List.of(p1, p2)) {
      Presence b = XmppFixture.nextPresence(q, jid(bobPuid));
      assertThat(b.getType()).isEqualTo(Presence.Type.available);
      assertThat(b.getMode()).isEqualTo(Presence.Mode.available);
      Presence a = XmppFixture.nextPresence(q, jid(alicePuid));
      assertThat(a.getMode()).isEqualTo(Presence.Mode.xa);
      assertThat(a.getStatus()).isNull();
    }
    XmppFixture.status(aliceDevice, PresenceStatus.OFFLINE, "");
    assertThat(XmppFixture.nextPresence(p1, jid(alicePuid)).getType())
        .isEqualTo(Presence.Type.unavailable);

    // XEP-0199 ping is answered.
    assertThat(PingManager.getInstanceFor(one).pingMyServer(true, TimeUnit.SECONDS.toMillis(WAIT)))
        .isTrue();
    assertThat(
            node.server()
                .metrics()
                .registry()
                .getGauges()
                .get("presence.connections.open.xmpp")
                .getValue())
        .isEqualTo(2L);
  }

  @Test
  void aPauseRemovesTheUserFromTheRoster_andAResumeBringsThemBackWithTheirPresence()
      throws Exception {
    XmppFixture.App app = fx.activeApp(node, "Pause");
    String carol = fx.email("carol");
    String puid = fx.grant(node, carol, app);
    DeviceTestClient d = device(carol);
    XmppFixture.status(d, PresenceStatus.ONLINE, "hello");

    XMPPTCPConnection c = connect(app, app.key(), "r");
    BlockingQueue<Presence> q = XmppFixture.presences(c);
    BlockingQueue<String> changes = XmppFixture.rosterChanges(c);
    Roster roster = Roster.getInstanceFor(c);
    c.connect().login();
    roster.reloadAndWait();
    assertThat(XmppFixture.nextPresence(q, jid(puid)).getStatus()).isEqualTo("hello");
    changes.clear();

    fx.setEnabled(node, carol, puid, false);
    // Smack calls roster listeners on its own threads: an "added" from the initial roster load can
    // still arrive after the reload returned. What matters is that the pause deletes the entry.
    XmppFixture.awaitRosterChange(changes, "deleted " + jid(puid));
    assertThat(XmppFixture.nextPresence(q, jid(puid)).getType())
        .isEqualTo(Presence.Type.unavailable);
    assertThat(roster.getEntries()).isEmpty();

    fx.setEnabled(node, carol, puid, true);
    XmppFixture.awaitRosterChange(changes, "added " + jid(puid));
    Presence back = XmppFixture.nextPresence(q, jid(puid));
    assertThat(back.getType()).isEqualTo(Presence.Type.available);
    assertThat(back.getStatus()).isEqualTo("hello");
  }

  @Test
  void aHeadlineMessage_reachesTheUsersDevice_andItsReceiptComesBack() throws Exception {
    XmppFixture.App app = fx.activeApp(node, "Notify");
    String dan = fx.email("dan");
    String puid = fx.grant(node, dan, app);
    DeviceTestClient d = device(dan);
    XmppFixture.status(d, PresenceStatus.ONLINE, "");

    XMPPTCPConnection c = connect(app, app.key(), "r");
    BlockingQueue<Message> messages = new LinkedBlockingQueue<>();
    c.addAsyncStanzaListener(s -> messages.add((Message) s), StanzaTypeFilter.MESSAGE);
    c.connect().login();

    Message m =
        c.getStanzaFactory()
            .buildMessageStanza()
            .ofType(Message.Type.headline)
            .to(jid(puid))
            .setBody("Your table is ready")
            .addExtension(
                StandardExtensionElement.builder("x", "jabber:x:oob")
                    .addElement("url", "https://example.com/table")
                    .build())
            .addExtension(new DeliveryReceiptRequest())
            .build();
    c.sendStanza(m);
    DeviceMessage.LiveNotification n = d.notifications().notifications().get(0);
    assertThat(n.message()).isEqualTo("Your table is ready");
    assertThat(n.action()).isEqualTo("https://example.com/table");
    assertThat(n.appId()).isEqualTo(app.id());

    // The first message carrying a receipt (a CI run once saw another message arrive first).
    Message receipt = null;
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
    while (receipt == null && System.nanoTime() < until) {
      Message next = messages.poll(until - System.nanoTime(), TimeUnit.NANOSECONDS);
      if (next != null && next.getExtension(DeliveryReceipt.class) != null) {
        receipt = next;
      } else if (next != null) {
        LOG.info("message before the receipt: {}", next.toXML());
      }
    }
    assertThat(receipt).as("receipt").isNotNull();
    assertThat(receipt.getFrom().asBareJid().toString())
        .isEqualTo(jid(puid).asBareJid().toString());
    DeliveryReceipt r = receipt.getExtension(DeliveryReceipt.class);
    assertThat(r.getId()).isEqualTo(m.getStanzaId());

    // Refused ones get the matching stanza error.
    c.sendStanza(
        c.getStanzaFactory()
            .buildMessageStanza()
            .ofType(Message.Type.headline)
            .to(JidCreate.from("nobody@" + XmppFixture.DOMAIN))
            .setBody("hi")
            .addExtension(
                StandardExtensionElement.builder("x", "jabber:x:oob")
                    .addElement("url", "https://example.com/")
                    .build())
            .build());
    Message err = messages.poll(WAIT, TimeUnit.SECONDS);
    assertThat(err.getType()).isEqualTo(Message.Type.error);
    assertThat(err.getError().getCondition()).isEqualTo(StanzaError.Condition.item_not_found);

    c.sendStanza(
        c.getStanzaFactory()
            .buildMessageStanza()
            .ofType(Message.Type.headline)
            .to(jid(puid))
            .setBody("x".repeat(513))
            .addExtension(
                StandardExtensionElement.builder("x", "jabber:x:oob")
                    .addElement("url", "https://example.com/")
                    .build())
            .build());
    err = messages.poll(WAIT, TimeUnit.SECONDS);
    assertThat(err.getType()).isEqualTo(Message.Type.error);
    assertThat(err.getError().getCondition()).isEqualTo(StanzaError.Condition.bad_request);
    assertThat(d.notifications(Duration.ofMillis(300))).isNull();
  }

  @Test
  void aWrongRegeneratedOrInactiveKey_failsAuthentication() throws Exception {
    XmppFixture.App app = fx.activeApp(node, "Keys");
    XMPPTCPConnection wrong = connect(app, "not-the-key", "r");
    wrong.connect();
    assertThatThrownBy(wrong::login).isInstanceOf(SASLErrorException.class);

    java.net.http.HttpResponse<String> regenerated =
        app.dev().post("/api/apps/" + app.id() + "/key", null);
    assertThat(regenerated.statusCode()).as(regenerated.body()).isEqualTo(200);
    String newKey = XmppFixture.json(regenerated).get("api_key").asText();
    XMPPTCPConnection old = connect(app, app.key(), "r");
    old.connect();
    assertThatThrownBy(old::login).isInstanceOf(SASLErrorException.class);
    XMPPTCPConnection fresh = connect(app, newKey, "r");
    fresh.connect().login();
    assertThat(fresh.isAuthenticated()).isTrue();

    java.net.http.HttpResponse<String> deactivated =
        app.dev().post("/api/apps/" + app.id() + "/deactivate", null);
    assertThat(deactivated.statusCode()).as(deactivated.body()).isEqualTo(200);
    XMPPTCPConnection inactive = connect(app, newKey, "r2");
    inactive.connect();
    assertThatThrownBy(inactive::login)
        .isInstanceOfSatisfying(
            SASLErrorException.class,
            e -> assertThat(e.getSASLFailure().getSASLErrorString()).isEqualTo("account-disabled"));
  }
}
