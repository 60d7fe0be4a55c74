package org.presence.gateway.xmpp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.InetAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
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
import org.jivesoftware.smack.filter.StanzaTypeFilter;
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

  /** A certificate for {@link #DOMAIN} and its private key, as PEM files. */
  record TlsFiles(Path cert, Path key) {
    /** The settings that have a node serve them on its XMPP ports. */
    Map<String, String> settings() {
      return Map.of("xmpp.tls-cert", cert.toString(), "xmpp.tls-key", key.toString());
    }
  }

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

  /**
   * Makes a self-signed certificate for {@link #DOMAIN} and writes it and its key to {@code
   * xmpp-cert.pem} and {@code xmpp-key.pem} in {@code dir}; the certificate file is also what a
   * client (Slixmpp) trusts.
   */
  static TlsFiles tlsFiles(Path dir) throws Exception {
    SelfSignedCertificate made = SelfSignedCertificate.create(DOMAIN);
    TlsFiles files = new TlsFiles(dir.resolve("xmpp-cert.pem"), dir.resolve("xmpp-key.pem"));
    Files.writeString(files.cert(), pem("CERTIFICATE", made.certificate.getEncoded()));
    Files.writeString(files.key(), pem("PRIVATE KEY", made.keys.getPrivate().getEncoded()));
    return files;
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN "
        + type
        + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END "
        + type
        + "-----\n";
  }

  /** The presence stanzas {@code c} receives from now on, in arrival order. */
  static BlockingQueue<Presence> presences(XMPPTCPConnection c) {
    BlockingQueue<Presence> q = new LinkedBlockingQueue<>();
    c.addAsyncStanzaListener(s -> q.add((Presence) s), StanzaTypeFilter.PRESENCE);
    return q;
  }

  /**
   * The first presence in {@code q} from the bare address {@code from} not taken yet, within {@link
   * #WAIT} seconds; presences from others stay queued, in order (Smack's asynchronous listeners may
   * interleave different senders).
   */
  static Presence nextPresence(BlockingQueue<Presence> q, CharSequence from)
      throws InterruptedException {
    String bare = from.toString();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
    List<Presence> others = new ArrayList<>();
    try {
      while (System.nanoTime() < deadline) {
        Presence p = q.poll(100, TimeUnit.MILLISECONDS);
        if (p == null) {
          continue;
        }
        if (p.getFrom() != null && p.getFrom().asBareJid().toString().equals(bare)) {
          return p;
        }
        others.add(p);
      }
      throw new AssertionError("no presence from " + bare + " within " + WAIT + " s: " + others);
    } finally {
      // Put the others back in front, in order.
      List<Presence> rest = new ArrayList<>();
      q.drainTo(rest);
      q.addAll(others);
      q.addAll(rest);
    }
  }
}
