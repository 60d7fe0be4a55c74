package org.presence.gateway.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.NotifyFixture.App;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WebClient;
import org.presence.protocol.error.ErrorCode;

/**
 * The admin API over real sockets on the embedded default: the token check (none configured,
 * missing, wrong), the node list, health, an application's state with suspend, resume and key
 * revocation (the old key stops working at once), and disconnecting a user's devices.
 */
class AdminApiTest {
  static final String TOKEN = "admin-token-for-tests-0123456789abcdef";

  @TempDir static Path root;
  private static TestNode node;
  private static DomainStub site;

  @BeforeAll
  static void start() throws IOException {
    site = DomainStub.start();
    node = TestNode.start(settings("node", Map.of("admin.token", TOKEN)), r -> {});
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
    if (site != null) {
      site.close();
    }
  }

  static Map<String, String> settings(String name, Map<String, String> extra) throws IOException {
    Path dir = root.resolve(name);
    Files.createDirectories(dir);
    Map<String, String> s = TestNode.baseSettings(dir);
    s.put("identity.dev-signing", "true");
    s.put("outbound.allow-loopback", "true");
    s.put("device.handshake-rate", "0");
    // The developer's page, in the suspension test.
    s.put("web.dev-sign-in", "true");
    s.putAll(extra);
    return s;
  }

  static HttpResponse<String> admin(TestNode n, String method, String path, String token) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + n.adminPort() + path))
            .method(method, HttpRequest.BodyPublishers.noBody());
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return TestNode.send(b.build());
  }

  static JsonNode ok(HttpResponse<String> r) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return NotifyFixture.json(r);
  }

  static void assertError(HttpResponse<String> r, ErrorCode code) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(code.httpStatus());
    assertThat(NotifyFixture.json(r).get("errno").asInt()).as(r.body()).isEqualTo(code.errno());
  }

  private static String email(String who) {
    return who + "-" + UUID.randomUUID() + "@example.com";
  }

  /** The status of an API-key call of application {@code appId} with {@code key}. */
  private static int keyCall(long appId, String key) {
    return TestNode.send(
            HttpRequest.newBuilder(node.uri("/" + appId + "/presence/stats"))
                .header("Authorization", "Bearer " + key)
                .build())
        .statusCode();
  }

  @Test
  void token_isRequired_andWithoutOneConfiguredTheApiIsOff() throws IOException {
    assertError(admin(node, "GET", "/admin/api/nodes", null), ErrorCode.UNAUTHORIZED);
    assertThat(
            admin(node, "GET", "/admin/api/nodes", null).headers().firstValue("WWW-Authenticate"))
        .hasValue("Bearer");
    assertError(admin(node, "GET", "/admin/api/nodes", TOKEN + "x"), ErrorCode.UNAUTHORIZED);
    assertError(admin(node, "POST", "/admin/api/apps/1/suspend", "nope"), ErrorCode.UNAUTHORIZED);
    // Never on the clients' port.
    assertThat(
            TestNode.send(
                    HttpRequest.newBuilder(node.uri("/admin/api/nodes"))
                        .header("Authorization", "Bearer " + TOKEN)
                        .build())
                .statusCode())
        .isEqualTo(404);
    try (TestNode off = TestNode.start(settings("off", Map.of()), r -> {})) {
      assertError(admin(off, "GET", "/admin/api/nodes", TOKEN), ErrorCode.ADMIN_API_DISABLED);
      assertError(admin(off, "GET", "/admin/api/health", null), ErrorCode.ADMIN_API_DISABLED);
      // The metrics stay open to scrapers.
      assertThat(off.adminGet("/metrics").statusCode()).isEqualTo(200);
    }
  }

  @Test
  void nodesAndHealth() {
    try (DeviceTestClient d =
        DeviceTestClient.connected(node, node.token(email("ann")), null, "phone")) {
      JsonNode nodes = ok(admin(node, "GET", "/admin/api/nodes", TOKEN)).get("nodes");
      assertThat(nodes).hasSize(1);
      JsonNode n = nodes.get(0);
      assertThat(n.get("node").asText()).isEqualTo("test-node");
      assertThat(n.get("leased").asBoolean()).isTrue();
      assertThat(n.get("reachable").asBoolean()).isTrue();
      assertThat(n.get("lease_ok").asBoolean()).isTrue();
      assertThat(n.get("lease_seconds").asLong()).isPositive();
      assertThat(n.get("connections").get("device").asLong()).isGreaterThanOrEqualTo(1);
      assertThat(n.get("device_sessions").asLong()).isGreaterThanOrEqualTo(1);
    }
    JsonNode health = ok(admin(node, "GET", "/admin/api/health", TOKEN));
    assertThat(health.get("status").asText()).isEqualTo("ok");
    assertThat(health.get("database").get("status").asText()).isEqualTo("ok");
    assertThat(health.get("bus").get("kind").asText()).isEqualTo("local");
  }

  /**
   * A suspension is the operator's: its developer cannot activate the application or make a key
   * until the operator resumes it, and the page says so; the operator cannot activate one its
   * developer deactivated.
   */
  @Test
  void aSuspendedApp_isNotItsDevelopersToActivate_andADeactivatedOneNotTheOperatorsToResume() {
    String who = email("suspended-dev");
    ApiClient dev = ApiClient.forEmail(node, who);
    App app = NotifyFixture.activeApp(dev, site, "Suspended app");
    String base = "/admin/api/apps/" + app.id();
    String mine = "/api/apps/" + app.id();
    assertThat(ok(admin(node, "POST", base + "/suspend", TOKEN)).get("suspended").asBoolean())
        .isTrue();
    assertError(dev.post(mine + "/activate", null), ErrorCode.APP_SUSPENDED);
    assertError(dev.post(mine + "/key", null), ErrorCode.APP_SUSPENDED);
    JsonNode seen = NotifyFixture.json(dev.get(mine));
    assertThat(seen.get("state").asText()).isEqualTo("verified");
    assertThat(seen.get("suspended").asBoolean()).isTrue();
    String page = new WebClient(node).signIn(who).get("/myapps/" + app.id()).body();
    assertThat(page).contains("id=\"suspended\"").doesNotContain("id=\"activate\"");
    assertThat(keyCall(app.id(), app.key())).isEqualTo(ErrorCode.APP_NOT_ACTIVE.httpStatus());

    String resumed = ok(admin(node, "POST", base + "/resume", TOKEN)).get("api_key").asText();
    assertThat(keyCall(app.id(), resumed)).isEqualTo(200);
    assertThat(NotifyFixture.json(dev.get(mine)).get("suspended").asBoolean()).isFalse();

    // Deactivated by its developer: the operator's resume is refused; the developer's Activate
    // works.
    assertThat(dev.post(mine + "/deactivate", null).statusCode()).isEqualTo(200);
    HttpResponse<String> notSuspended = admin(node, "POST", base + "/resume", TOKEN);
    assertError(notSuspended, ErrorCode.INVALID_APP_STATE);
    assertThat(NotifyFixture.json(notSuspended).get("reason").asText()).contains("not suspended");
    // The operator may suspend it as it is, deactivated: then its Activate is refused, and the
    // resume puts it back as it was, verified without a key, its developer's to activate.
    assertThat(ok(admin(node, "POST", base + "/suspend", TOKEN)).get("suspended").asBoolean())
        .isTrue();
    assertError(dev.post(mine + "/activate", null), ErrorCode.APP_SUSPENDED);
    JsonNode back = ok(admin(node, "POST", base + "/resume", TOKEN));
    assertThat(back.get("state").asText()).isEqualTo("verified");
    assertThat(back.has("api_key")).isFalse();
    assertThat(keyCall(app.id(), resumed)).isEqualTo(ErrorCode.APP_NOT_ACTIVE.httpStatus());
    JsonNode mineNow = NotifyFixture.json(dev.get(mine));
    assertThat(mineNow.get("state").asText()).isEqualTo("verified");
    assertThat(mineNow.get("suspended").asBoolean()).isFalse();
    assertThat(dev.post(mine + "/activate", null).statusCode()).isEqualTo(200);
  }

  @Test
  void app_suspendResumeAndRevokeKey() {
    App app = NotifyFixture.activeApp(node, site, email("dev"), "Admin app");
    String base = "/admin/api/apps/" + app.id();
    JsonNode shown = ok(admin(node, "GET", base, TOKEN));
    assertThat(shown.get("state").asText()).isEqualTo("active");
    assertThat(shown.has("verification_key")).isFalse();
    assertThat(keyCall(app.id(), app.key())).isEqualTo(200);

    assertThat(ok(admin(node, "POST", base + "/suspend", TOKEN)).get("state").asText())
        .isEqualTo("verified");
    assertThat(keyCall(app.id(), app.key())).isEqualTo(ErrorCode.APP_NOT_ACTIVE.httpStatus());
    HttpResponse<String> again = admin(node, "POST", base + "/suspend", TOKEN);
    assertError(again, ErrorCode.INVALID_APP_STATE);
    assertThat(NotifyFixture.json(again).get("reason").asText())
        .isEqualTo("Invalid application state: already suspended");
    HttpResponse<String> noKey = admin(node, "POST", base + "/key", TOKEN);
    assertError(noKey, ErrorCode.APP_NOT_ACTIVE);
    assertThat(NotifyFixture.json(noKey).get("reason").asText())
        .isEqualTo("Application not active: only an active application has a key to revoke");

    String resumed = ok(admin(node, "POST", base + "/resume", TOKEN)).get("api_key").asText();
    assertThat(keyCall(app.id(), resumed)).isEqualTo(200);
    assertError(admin(node, "POST", base + "/resume", TOKEN), ErrorCode.INVALID_APP_STATE);

    String fresh = ok(admin(node, "POST", base + "/key", TOKEN)).get("api_key").asText();
    assertThat(fresh).isNotEqualTo(resumed);
    assertThat(keyCall(app.id(), resumed)).isEqualTo(401);
    assertThat(keyCall(app.id(), fresh)).isEqualTo(200);

    assertError(admin(node, "GET", "/admin/api/apps/999999999", TOKEN), ErrorCode.UNKNOWN_APP);
    assertError(admin(node, "GET", "/admin/api/apps/abc", TOKEN), ErrorCode.UNKNOWN_APP);
  }

  @Test
  void disconnect_endsEverySessionOfTheUser() {
    String ann = email("ann");
    String bob = email("bob");
    try (DeviceTestClient phone = DeviceTestClient.connected(node, node.token(ann), null, "phone");
        DeviceTestClient laptop =
            DeviceTestClient.connected(node, node.token(ann), null, "laptop");
        DeviceTestClient other = DeviceTestClient.connected(node, node.token(bob), null, "phone")) {
      String sub = NotifyFixture.sub(ann);
      JsonNode r =
          ok(
              admin(
                  node,
                  "POST",
                  "/admin/api/users/"
                      + java.net.URLEncoder.encode(sub, java.nio.charset.StandardCharsets.UTF_8)
                      + "/disconnect",
                  TOKEN));
      assertThat(r.get("sessions").asInt()).isEqualTo(2);
      assertThat(phone.awaitClose().code()).isEqualTo(ErrorCode.SESSION_ABORTED.closeCode());
      assertThat(laptop.awaitClose().code()).isEqualTo(ErrorCode.SESSION_ABORTED.closeCode());
      assertThat(other.isClosed()).isFalse();
      assertThat(other.status(org.presence.protocol.model.PresenceStatus.ONLINE, null))
          .isEqualTo(org.presence.protocol.device.DeviceMessage.Ack.INSTANCE);
    }
    // A user with no devices: nothing to end.
    assertThat(
            ok(admin(node, "POST", "/admin/api/users/nobody/disconnect", TOKEN))
                .get("sessions")
                .asInt())
        .isZero();
  }

  @Test
  void page_isServedWithAStrictPolicy() {
    HttpResponse<String> page = node.adminGet("/admin");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body()).contains("<script src=\"/admin/admin.js\"");
    assertThat(page.headers().firstValue("Content-Security-Policy"))
        .hasValueSatisfying(
            csp -> assertThat(csp).contains("script-src 'self'").doesNotContain("unsafe-inline"));
    assertThat(node.adminGet("/admin/admin.js").body()).contains("/admin/api/nodes");
  }
}
