package org.presence.gateway.xmpp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jivesoftware.smack.ConnectionListener;
import org.jivesoftware.smack.XMPPException;
import org.jivesoftware.smack.packet.StreamError;
import org.jivesoftware.smack.roster.Roster;
import org.jivesoftware.smack.tcp.XMPPTCPConnection;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.TestNode;

/**
 * A regenerated key or a deactivated application ends every XMPP session of the application at
 * once, with or without initial presence (Smack against an embedded node); and a change the node
 * did not hear (its cache invalidation lost) still stops roster reads and pushes once the
 * application is read again, as does a notification.
 */
class XmppRevocationTest {
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
    // A short cache ttl: a change made behind the node's back is read within it.
    node = XmppFixture.node(dataDir, Map.of("caches.api-keys.ttl", "300ms"));
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

  /** A Smack session logged in and bound that sends no initial presence; its roster is read. */
  private XMPPTCPConnection quiet(XmppFixture.App app, String key, String resource)
      throws Exception {
    XMPPTCPConnection c = XmppFixture.smack(node, app.id(), key, resource, false);
    c.setReplyTimeout(TimeUnit.SECONDS.toMillis(WAIT));
    open.add(c::disconnect);
    c.connect().login();
    Roster roster = Roster.getInstanceFor(c);
    roster.reloadAndWait();
    return c;
  }

  /** Completes with what ends {@code c} with an error. */
  private static CompletableFuture<Exception> ending(XMPPTCPConnection c) {
    CompletableFuture<Exception> ended = new CompletableFuture<>();
    c.addConnectionListener(
        new ConnectionListener() {
          @Override
          public void connectionClosedOnError(Exception e) {
            ended.complete(e);
          }

          @Override
          public void connectionClosed() {
            ended.completeExceptionally(new AssertionError("closed without a stream error"));
          }
        });
    return ended;
  }

  private static StreamError streamError(CompletableFuture<Exception> ended) throws Exception {
    Exception e = ended.get(WAIT, TimeUnit.SECONDS);
    assertThat(e).isInstanceOf(XMPPException.StreamErrorException.class);
    return ((XMPPException.StreamErrorException) e).getStreamError();
  }

  @Test
  void aRegeneratedKey_endsASessionWithoutInitialPresence_atOnce_andTheNewKeyWorks()
      throws Exception {
    XmppFixture.App app = fx.activeApp(node, "RekeyQuiet");
    fx.grant(node, fx.email("alice"), app);
    XMPPTCPConnection c = quiet(app, app.key(), "quiet");
    assertThat(Roster.getInstanceFor(c).getEntries()).hasSize(1);
    CompletableFuture<Exception> ended = ending(c);

    HttpResponse<String> r = app.dev().post("/api/apps/" + app.id() + "/key", null);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    String newKey = XmppFixture.json(r).get("api_key").asText();

    StreamError error = streamError(ended);
    assertThat(error.getCondition()).isEqualTo(StreamError.Condition.not_authorized);
    assertThat(error.getDescriptiveText())
        .isEqualTo("Invalid API key: the API key was regenerated");
    await().atMost(Duration.ofSeconds(WAIT)).until(() -> !c.isConnected());

    XMPPTCPConnection fresh = quiet(app, newKey, "fresh");
    assertThat(Roster.getInstanceFor(fresh).getEntries()).hasSize(1);
    assertThat(fresh.isConnected()).isTrue();
  }

  @Test
  void aDeactivatedApp_endsASessionWithoutInitialPresence_atOnce() throws Exception {
    XmppFixture.App app = fx.activeApp(node, "OffQuiet");
    fx.grant(node, fx.email("bob"), app);
    XMPPTCPConnection c = quiet(app, app.key(), "quiet");
    CompletableFuture<Exception> ended = ending(c);

    HttpResponse<String> r = app.dev().post("/api/apps/" + app.id() + "/deactivate", null);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);

    StreamError error = streamError(ended);
    assertThat(error.getCondition()).isEqualTo(StreamError.Condition.not_authorized);
    assertThat(error.getDescriptiveText())
        .isEqualTo("Application not active: the application was deactivated");
    await().atMost(Duration.ofSeconds(WAIT)).until(() -> !c.isConnected());
  }

  /**
   * The application deactivated in the store without the node hearing of it (as when the bus lost
   * the invalidation): once its cache reads the application again, a roster get is refused and a
   * roster push is not sent, a notification is refused; each ends its session.
   */
  @Test
  void aChangeTheNodeDidNotHear_stopsRosterReadsAndPushes_onceTheAppIsReadAgain() throws Exception {
    XmppFixture.App app = fx.activeApp(node, "Unheard");
    String carol = fx.email("carol");
    String puid = fx.grant(node, carol, app);
    int port = node.server().xmppAddress().getPort();
    try (RawXmpp reader = RawXmpp.connect(port).login(app.id(), app.key());
        RawXmpp pushed = RawXmpp.connect(port).login(app.id(), app.key());
        RawXmpp notifier = RawXmpp.connect(port).login(app.id(), app.key())) {
      reader.send("<iq type='get' id='r0'><query xmlns='jabber:iq:roster'/></iq>");
      assertThat(reader.await("id='r0'")).doesNotContain("type='error'");
      assertThat(reader.await("</iq>")).contains("<item jid=");

      node.server().store().persistence().apps().deactivate(app.id()).toCompletableFuture().get();
      await()
          .atMost(Duration.ofSeconds(WAIT))
          .until(
              () ->
                  !node.server()
                      .appFeatures()
                      .appCache()
                      .find(app.id())
                      .toCompletableFuture()
                      .get()
                      .orElseThrow()
                      .active());

      reader.send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>");
      assertThat(reader.awaitEnd())
          .contains("<iq type='error' id='r1'")
          .contains("<forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>")
          .contains("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>")
          .doesNotContain("<item ");

      notifier.send(
          "<message type='headline' id='n1' to='"
              + XmppFixture.jid(puid)
              + "'><body>hi</body><x xmlns='jabber:x:oob'><url>https://example.com/</url></x>"
              + "</message>");
      assertThat(notifier.awaitEnd())
          .contains("id='n1'")
          .contains("<forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>")
          .contains("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>");

      fx.setEnabled(node, carol, puid, false);
      assertThat(pushed.awaitEnd())
          .contains("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>")
          .contains("the application was deactivated")
          .doesNotContain("jabber:iq:roster");
    }
  }
}
