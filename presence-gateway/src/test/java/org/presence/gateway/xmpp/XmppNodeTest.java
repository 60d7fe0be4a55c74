package org.presence.gateway.xmpp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.updates.AppUpdates;
import org.presence.protocol.model.PresenceStatus;

/** The XMPP interface as part of a node: a session that does not read, and the node's drain. */
class XmppNodeTest {
  @TempDir Path dataDir;

  @Test
  void aSessionThatDoesNotRead_holdsAPosition_notAQueue_andCatchesUpWhenItReads() throws Exception {
    Map<String, String> s =
        Map.of(
            "updates.socket-send-buffer", "8k",
            "device.rate", "5000",
            "device.burst", "5000",
            "device.overdraft", "1000");
    try (TestNode n = XmppFixture.node(dataDir, s);
        XmppFixture fx = new XmppFixture()) {
      XmppFixture.App app = fx.activeApp(n, "Slow");
      String eve = fx.email("eve");
      fx.grant(n, eve, app);
      try (DeviceTestClient d = XmppFixture.device(n, eve, "phone");
          RawXmpp c = RawXmpp.connectSmall(n.server().xmppAddress().getPort())) {
        c.login(app.id(), app.key());
        c.send("<presence/>");
        // About 2000 x 300 bytes of presence stanzas, far more than the socket buffers hold.
        String filler = "m".repeat(130);
        int updates = 2000;
        for (int i = 0; i < updates; i++) {
          XmppFixture.status(
              d, i % 2 == 0 ? PresenceStatus.AWAY : PresenceStatus.ONLINE, filler + i);
        }
        XmppFixture.status(d, PresenceStatus.ONLINE, "the last one");
        List<AppUpdates.ConsumerStats> stats = n.server().updates().stats(app.id());
        assertThat(stats).hasSize(1);
        assertThat(stats.get(0).writable()).isFalse();
        // What waits for the session is its socket's buffer and one batch, not the 600 kB sent.
        assertThat(stats.get(0).pendingBytes()).isLessThan(200_000);
        assertThat(n.server().updates().buffered(app.id())).isLessThanOrEqualTo(1024);
        // Caught up from the log once it reads (a 4 KiB receive window is slow: give it time).
        c.readFaster();
        assertThat(c.await("<status>the last one</status>", 120_000)).isNotEmpty();
      }
    }
  }

  /**
   * A regenerated key ends the sessions that logged in with the old one at once, whether they
   * receive presence (their feed) or not; a session logged in with the new key goes on.
   */
  @Test
  void aRegeneratedKey_endsTheSessionsOfTheOldKey_notThoseOfTheNewOne() throws Exception {
    try (TestNode n = XmppFixture.node(dataDir, Map.of());
        XmppFixture fx = new XmppFixture()) {
      XmppFixture.App app = fx.activeApp(n, "Rekeyed");
      String eve = fx.email("eve");
      fx.grant(n, eve, app);
      int port = n.server().xmppAddress().getPort();
      try (RawXmpp available = RawXmpp.connect(port).login(app.id(), app.key());
          RawXmpp quiet = RawXmpp.connect(port).login(app.id(), app.key())) {
        available.send("<presence/>");
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> n.server().updates().stats(app.id()).size() == 1);
        var regenerated = app.dev().post("/api/apps/" + app.id() + "/key", null);
        assertThat(regenerated.statusCode()).as(regenerated.body()).isEqualTo(200);
        String newKey = XmppFixture.json(regenerated).get("api_key").asText();
        try (RawXmpp fresh = RawXmpp.connect(port).login(app.id(), newKey)) {
          fresh.send("<presence/>");
          assertThat(available.awaitEnd())
              .contains(
                  "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>")
              .contains("the API key was regenerated");
          assertThat(quiet.awaitEnd())
              .contains(
                  "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>")
              .contains("the API key was regenerated");
          try (DeviceTestClient d = XmppFixture.device(n, eve, "phone")) {
            XmppFixture.status(d, PresenceStatus.ONLINE, "with the new key");
            assertThat(fresh.await("<status>with the new key</status>")).isNotEmpty();
          }
          assertThat(fresh.closed()).isFalse();
        }
      }
    }
  }

  @Test
  void aDrainingNode_endsEverySessionWithSystemShutdown() throws Exception {
    try (TestNode n = XmppFixture.node(dataDir, Map.of());
        XmppFixture fx = new XmppFixture()) {
      XmppFixture.App app = fx.activeApp(n, "Drain");
      try (RawXmpp c = RawXmpp.connect(n.server().xmppAddress().getPort())) {
        c.login(app.id(), app.key());
        Thread drain = new Thread(() -> n.server().drain(Duration.ofSeconds(5)));
        drain.start();
        assertThat(c.awaitEnd())
            .contains(
                "<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>")
            .endsWith("</stream:error></stream:stream>");
        drain.join(10_000);
        await().atMost(Duration.ofSeconds(5)).until(() -> n.server().openConnections() == 0);
      }
    }
  }

  /**
   * An {@code <abort/>} is a failed attempt for its stream: aborts in a loop (from a client that
   * never reads) end the stream after {@code xmpp.max-auth-failures}. They take none of the
   * address's attempts: the right key still logs in after more aborts than the address's burst.
   */
  @Test
  void saslAbortsInALoop_endTheStream_butTakeNoneOfTheAddresssAttempts() throws Exception {
    Map<String, String> s =
        Map.of("xmpp.auth-failure-burst", "2", "xmpp.auth-failure-rate", "0.001");
    try (TestNode n = XmppFixture.node(dataDir, s);
        XmppFixture fx = new XmppFixture()) {
      XmppFixture.App app = fx.activeApp(n, "Aborts");
      int port = n.server().xmppAddress().getPort();
      String abort = "<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
      for (int i = 0; i < 2; i++) {
        try (RawXmpp c = RawXmpp.connect(port).startTls()) {
          c.send(abort.repeat(200));
          String rest = c.awaitEnd();
          assertThat(rest.split("<aborted/>", -1)).hasSize(4);
          assertThat(rest)
              .contains(
                  "<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>")
              .contains("too many failed authentication attempts");
        }
      }
      try (RawXmpp c = RawXmpp.connect(port).login(app.id(), app.key())) {
        c.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
        assertThat(c.await("id='p1'")).contains("type='result'");
      }
    }
  }

  /**
   * A session that sends pings and never reads the answers is ended for it ({@code
   * gateway.unwritable-timeout}) and closed without waiting to send TLS's close_notify, which it
   * would never take: nothing is logged at WARN (Netty's SslHandler logged "Last write attempt
   * timed out" for each such connection, 3 s later).
   */
  @Test
  void aSessionThatNeverReads_isClosedWithoutWaitingForTls_andNothingIsLoggedAtWarn()
      throws Exception {
    Map<String, String> s =
        Map.of("gateway.unwritable-timeout", "1s", "updates.socket-send-buffer", "8k");
    try (TestNode n = XmppFixture.node(dataDir, s);
        XmppFixture fx = new XmppFixture();
        Warnings warnings = new Warnings()) {
      XmppFixture.App app = fx.activeApp(n, "Deaf");
      @SuppressWarnings("unchecked")
      com.codahale.metrics.Gauge<Integer> sessions =
          (com.codahale.metrics.Gauge<Integer>)
              n.server().metrics().registry().getGauges().get("presence.xmpp.sessions");
      RawXmpp c = RawXmpp.connectSmall(n.server().xmppAddress().getPort());
      try {
        c.login(app.id(), app.key());
        assertThat(sessions.getValue()).isEqualTo(1);
        byte[] pings =
            "<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>"
                .repeat(1000)
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Thread flood =
            new Thread(
                () -> {
                  try {
                    for (int i = 0; i < 200; i++) {
                      c.send(pings);
                    }
                  } catch (java.io.IOException closed) {
                    // The node closed the connection.
                  }
                });
        flood.setDaemon(true);
        flood.start();
        await().atMost(Duration.ofSeconds(20)).until(() -> sessions.getValue() == 0);
        // SslHandler logs just before its own close, so the line would be there by now.
        assertThat(warnings.logged).noneMatch(l -> l.contains("Last write attempt timed out"));
      } finally {
        c.close();
      }
    }
  }

  @Test
  void wrongPasswordsFromOneAddress_acrossConnections_areRateLimited_beforeAnyKeyCheck()
      throws Exception {
    Map<String, String> s =
        Map.of(
            "xmpp.max-auth-failures", "1",
            "xmpp.auth-failure-burst", "2",
            "xmpp.auth-failure-rate", "0.001");
    try (TestNode n = XmppFixture.node(dataDir, s);
        XmppFixture fx = new XmppFixture()) {
      XmppFixture.App app = fx.activeApp(n, "Guess");
      int port = n.server().xmppAddress().getPort();
      for (int i = 0; i < 2; i++) {
        try (RawXmpp c = RawXmpp.connect(port).startTls()) {
          assertThat(c.auth(String.valueOf(app.id()), "guess-" + i)).contains("<not-authorized/>");
          assertThat(c.awaitEnd()).contains("<policy-violation");
        }
      }
      // The address used up its failures: even the right key is not checked now.
      try (RawXmpp c = RawXmpp.connect(port).startTls()) {
        assertThat(c.auth(String.valueOf(app.id()), app.key()))
            .contains("<temporary-auth-failure/>");
        assertThat(c.awaitEnd()).contains("<policy-violation");
      }
    }
  }
}
