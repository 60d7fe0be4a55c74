package org.presence.gateway.updates;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.model.PresenceStatus;

/**
 * Applications, users and devices for the update tests, made the way developers and users make
 * them: through the JSON API (domain proof against a {@link DomainStub} on loopback) and the device
 * channel.
 */
final class UpdatesFixture implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();

  /** The update numbers {@code from} to {@code to}, both included. */
  static List<Long> seqs(long from, long to) {
    return java.util.stream.LongStream.rangeClosed(from, to).boxed().toList();
  }

  /** An active application: its id, key and developer. */
  record App(long id, String key, ApiClient dev) {}

  private final DomainStub site = DomainStub.start();
  private final String run = UUID.randomUUID().toString().substring(0, 8);

  /** Settings every update test node uses: fast webhooks, short grace, generous device limits. */
  static Map<String, String> settings() {
    Map<String, String> s = new HashMap<>();
    s.put("identity.dev-signing", "true");
    s.put("device.offline-grace", "300ms");
    s.put("device.rate", "5000");
    s.put("device.burst", "5000");
    s.put("device.overdraft", "1000");
    s.put("device.handshake-rate", "0");
    s.put("updates.connect-rate", "100");
    s.put("updates.connect-burst", "100");
    s.put("webhooks.interval", "1s");
    s.put("webhooks.timeout", "1500ms");
    s.put("webhooks.max-backoff", "4s");
    s.put("webhooks.lease-ttl", "3s");
    s.put("webhooks.idle", "3s");
    // A small kernel buffer, so that a consumer that does not read fills Netty's quickly.
    s.put("updates.socket-send-buffer", "8k");
    return s;
  }

  static JsonNode json(HttpResponse<String> r) {
    try {
      return JSON.readTree(r.body());
    } catch (Exception e) {
      throw new AssertionError("not JSON: " + r.body(), e);
    }
  }

  /** An email unique to this fixture. */
  String email(String who) {
    return who + "-" + run + "@example.com";
  }

  /** Registers, verifies and activates an application on {@code node}. */
  App activeApp(TestNode node, String name) {
    return activeApp(node, name, "dev-" + name);
  }

  /** Registers, verifies and activates an application of developer {@code developer}. */
  App activeApp(TestNode node, String name, String developer) {
    ApiClient dev = ApiClient.forEmail(node, email(developer));
    NotifyFixture.App app = NotifyFixture.activeApp(dev, site, name);
    return new App(app.id(), app.key(), dev);
  }

  /** Sets the application's webhook; returns its signing secret. */
  String webhook(App app, String url) {
    HttpResponse<String> r =
        app.dev().put("/api/apps/" + app.id() + "/webhook", "{\"url\":\"" + url + "\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return json(r).get("webhook_secret").asText();
  }

  /** {@code email} grants {@code app}; returns the PUID. */
  String grant(TestNode node, String email, App app) {
    HttpResponse<String> r =
        ApiClient.forEmail(node, email)
            .post("/api/grants", "{\"app_id\":" + app.id() + ",\"id\":\"as " + email + "\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return json(r).get("puid").asText();
  }

  /** Pauses ({@code false}) or resumes ({@code true}) a grant. */
  void setEnabled(TestNode node, String email, String puid, boolean on) {
    HttpResponse<String> r =
        ApiClient.forEmail(node, email).put("/api/grants/" + puid, "{\"enabled\":" + on + "}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }

  void revoke(TestNode node, String email, String puid) {
    HttpResponse<String> r = ApiClient.forEmail(node, email).delete("/api/grants/" + puid);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }

  /** A connected device of {@code email}. */
  static DeviceTestClient device(TestNode node, String email, String device) {
    return DeviceTestClient.connected(node, node.token(email), null, device);
  }

  /** Sends a status and checks the ack. */
  static void status(DeviceTestClient d, PresenceStatus s, String message) {
    DeviceMessage reply = d.status(s, message);
    assertThat(reply).as("ack").isInstanceOf(DeviceMessage.Ack.class);
  }

  @Override
  public void close() {
    site.close();
  }
}
