package org.presence.gateway.xmpp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.InetAddress;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.jivesoftware.smack.ConnectionConfiguration;
import org.jivesoftware.smack.packet.Presence;
import org.jivesoftware.smack.roster.Roster;
import org.jivesoftware.smack.roster.RosterListener;
import org.jivesoftware.smack.tcp.XMPPTCPConnection;
import org.jivesoftware.smack.tcp.XMPPTCPConnectionConfiguration;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.model.PresenceStatus;

/**
 * Applications, users and devices for the XMPP tests, made through the JSON API and the device
 * channel (as the update tests make them), and a trust manager for the embedded default's
 * self-signed certificate.
 */
final class XmppFixture implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String DOMAIN = "presence.test";

  /** How long the helpers here wait for what a test expects, in seconds. */
  static final long WAIT = 10;

  record App(long id, String key, ApiClient dev) {}

  private final DomainStub site = DomainStub.start();
  private final String run = UUID.randomUUID().toString().substring(0, 8);

  /** An embedded node with XMPP on a free port, domain {@link #DOMAIN}. */
  static TestNode node(Path dataDir, Map<String, String> extra) {
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("identity.dev-signing", "true");
    s.put("device.offline-grace", "300ms");
    s.put("device.handshake-rate", "0");
    s.put("updates.connect-rate", "100");
    s.put("updates.connect-burst", "100");
    s.put("xmpp.port", "0");
    s.put("xmpp.domain", DOMAIN);
    s.put("gateway.close-linger", "500ms");
    s.putAll(extra);
    return TestNode.start(s, r -> {});
  }

  /** The bare address of {@code puid} at {@link #DOMAIN}, as text. */
  static String jid(String puid) {
    return Jid.localpart(puid) + "@" + DOMAIN;
  }

  static JsonNode json(HttpResponse<String> r) {
    try {
      return JSON.readTree(r.body());
    } catch (Exception e) {
      throw new AssertionError("not JSON: " + r.body(), e);
    }
  }

  String email(String who) {
    return who + "-" + run + "@example.com";
  }

  App activeApp(TestNode node, String name) {
    ApiClient dev = ApiClient.forEmail(node, email("dev-" + name));
    NotifyFixture.App app = NotifyFixture.activeApp(dev, site, name);
    return new App(app.id(), app.key(), dev);
  }

  /** {@code email} grants {@code app} as {@code "as <email>"}; returns the PUID. */
  String grant(TestNode node, String email, App app) {
    HttpResponse<String> r =
        ApiClient.forEmail(node, email)
            .post("/api/grants", "{\"app_id\":" + app.id() + ",\"id\":\"as " + email + "\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return json(r).get("puid").asText();
  }

  void setEnabled(TestNode node, String email, String puid, boolean on) {
    HttpResponse<String> r =
        ApiClient.forEmail(node, email).put("/api/grants/" + puid, "{\"enabled\":" + on + "}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }

  static DeviceTestClient device(TestNode node, String email, String device) {
    return DeviceTestClient.connected(node, node.token(email), null, device);
  }

  static void status(DeviceTestClient d, PresenceStatus s, String message) {
    DeviceMessage reply = d.status(s, message);
    assertThat(reply).as("ack").isInstanceOf(DeviceMessage.Ack.class);
  }

  /**
   * Smack's StAX parser takes whatever {@code XMLInputFactory.newInstance()} finds, which is Aalto
   * once the server's parser is on the class path; Aalto reports a default namespace declaration's
   * prefix as "" where Smack (with assertions on, as in tests) expects {@code null}. Smack then
   * uses the JDK's own StAX parser, as in an application without Aalto. Call before Smack loads.
   */
  static void jdkStaxForSmack() {
    System.setProperty(
        "javax.xml.stream.XMLInputFactory", "com.sun.xml.internal.stream.XMLInputFactoryImpl");
  }

  /** Trusts any certificate: the embedded default's is self-signed, made at start. */
  static final X509TrustManager TRUST_ALL =
      new X509TrustManager() {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
          return new X509Certificate[0];
        }
      };

  static SSLContext trustAll() {
    try {
      SSLContext c = SSLContext.getInstance("TLS");
      c.init(null, new TrustManager[] {TRUST_ALL}, null);
      return c;
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Override
  public void close() {
    site.close();
  }

  /**
   * A Smack connection (not yet connected) to {@code node}'s XMPP port, signing in as application
   * {@code appId} with {@code key}, over required STARTTLS trusting the node's test certificate.
   */
  static XMPPTCPConnection smack(TestNode node, long appId, String key, String resource) {
    return smack(node, appId, key, resource, true);
  }

  /**
   * As {@link #smack(TestNode, long, String, String)}; without {@code sendPresence} the connection
   * sends no initial presence at login (a session that reads its roster but no presence).
   */
  static XMPPTCPConnection smack(
      TestNode node, long appId, String key, String resource, boolean sendPresence) {
    try {
      return new XMPPTCPConnection(
          XMPPTCPConnectionConfiguration.builder()
              .setXmppDomain(DOMAIN)
              .setHostAddress(InetAddress.getLoopbackAddress())
              .setPort(node.server().xmppAddress().getPort())
              .setUsernameAndPassword(String.valueOf(appId), key)
              .setResource(resource)
              .setSecurityMode(ConnectionConfiguration.SecurityMode.required)
              .setCustomX509TrustManager(TRUST_ALL)
              .setHostnameVerifier((h, s) -> true)
              .setSendPresence(sendPresence)
              .build());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * The changes to {@code c}'s roster from now on, as Smack's listeners report them on its own
   * threads: {@code "added <jid>"} (an update counts as added) or {@code "deleted <jid>"}.
   */
  static BlockingQueue<String> rosterChanges(XMPPTCPConnection c) {
    BlockingQueue<String> changes = new LinkedBlockingQueue<>();
    Roster.getInstanceFor(c)
        .addRosterListener(
            new RosterListener() {
              @Override
              public void entriesAdded(Collection<org.jxmpp.jid.Jid> addresses) {
                addresses.forEach(j -> changes.add("added " + j));
              }

              @Override
              public void entriesUpdated(Collection<org.jxmpp.jid.Jid> addresses) {
                addresses.forEach(j -> changes.add("added " + j));
              }

              @Override
              public void entriesDeleted(Collection<org.jxmpp.jid.Jid> addresses) {
                addresses.forEach(j -> changes.add("deleted " + j));
              }

              @Override
              public void presenceChanged(Presence presence) {}
            });
    return changes;
  }

  /**
   * Waits up to {@link #WAIT} seconds for {@code expected} among the roster changes, skipping
   * earlier ones.
   */
  static void awaitRosterChange(BlockingQueue<String> changes, String expected)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
    List<String> seen = new ArrayList<>();
    while (System.nanoTime() < deadline) {
      String c = changes.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (expected.equals(c)) {
        return;
      }
      if (c != null) {
        seen.add(c);
      }
    }
    throw new AssertionError("no roster change \"" + expected + "\"; saw " + seen);
  }
}
