package org.presence.gateway.query;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.ApiSchemas;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.NotifyFixture.App;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.permission.Puids;

/**
 * The presence query API over real sockets on the embedded default: one user, a batch, the stats,
 * and every refusal (unknown application, missing or wrong key, malformed PUID, too many PUIDs,
 * malformed body, the rate limit). Paused and foreign PUIDs read as offline.
 */
class PresenceQueryApiTest {
  @TempDir static Path root;
  private static TestNode node;
  private static DomainStub site;

  @BeforeAll
  static void start() throws IOException {
    site = DomainStub.start();
    Path dir = root.resolve("node");
    Files.createDirectories(dir);
    Map<String, String> s = TestNode.baseSettings(dir);
    s.put("identity.dev-signing", "true");
    s.put("outbound.allow-loopback", "true");
    s.put("device.handshake-rate", "0");
    s.put("queries.rate", "1000");
    s.put("queries.burst", "1000");
    // Counted afresh for each request, so that the test sees its own changes.
    s.put("queries.stats-ttl", "1ms");
    node = TestNode.start(s, r -> {});
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

  private static String email(String who) {
    return who + "-" + UUID.randomUUID() + "@example.com";
  }

  private static App app(String name) {
    return NotifyFixture.activeApp(node, site, email("dev"), name);
  }

  private static HttpResponse<String> get(String path, String key) {
    HttpRequest.Builder b = HttpRequest.newBuilder(node.uri(path)).GET();
    if (key != null) {
      b.header("Authorization", "Bearer " + key);
    }
    HttpResponse<String> r = TestNode.send(b.build());
    ApiSchemas.assertAnswer(
        "get", path.endsWith("/stats") ? "/{appid}/presence/stats" : "/{appid}/presence/{puid}", r);
    return r;
  }

  private static HttpResponse<String> batch(App app, String body) {
    HttpResponse<String> r =
        NotifyFixture.post(node, "/" + app.id() + "/presence", app.key(), "application/json", body);
    ApiSchemas.assertAnswer("post", "/{appid}/presence", r);
    return r;
  }

  private static String puids(List<String> puids) {
    return "{\"puids\":[\"" + String.join("\",\"", puids) + "\"]}";
  }

  private static void assertError(HttpResponse<String> r, ErrorCode code) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(code.httpStatus());
    assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> t.contains("json"));
    assertThat(NotifyFixture.json(r).get("errno").asInt()).as(r.body()).isEqualTo(code.errno());
  }

  private static DeviceTestClient online(String email, PresenceStatus status, String message) {
    DeviceTestClient d = DeviceTestClient.connected(node, node.token(email), null, "phone");
    assertThat(d.status(status, message)).isEqualTo(DeviceMessage.Ack.INSTANCE);
    return d;
  }

  @Test
  void oneUser_seenAsTheUpdateChannelSeesThem_pausedAndForeignLookOffline() {
    App app = app("Query one");
    App other = app("Query other");
    String ann = email("ann");
    String puid = NotifyFixture.grant(node, ann, app.id());
    String foreign = NotifyFixture.grant(node, email("bob"), other.id());

    JsonNode offline = NotifyFixture.json(get("/" + app.id() + "/presence/" + puid, app.key()));
    assertThat(offline.get("puid").asText()).isEqualTo(puid);
    assertThat(offline.get("status").asText()).isEqualTo("offline");
    assertThat(offline.has("version")).isFalse();

    try (DeviceTestClient d = online(ann, PresenceStatus.AWAY, "lunch")) {
      HttpResponse<String> r = get("/" + app.id() + "/presence/" + puid, app.key());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      JsonNode away = NotifyFixture.json(r);
      assertThat(away.get("status").asText()).isEqualTo("away");
      assertThat(away.get("message").asText()).isEqualTo("lunch");
      assertThat(away.get("version").asLong()).isPositive();

      // Another application's PUID tells this application nothing.
      JsonNode notMine =
          NotifyFixture.json(get("/" + app.id() + "/presence/" + foreign, app.key()));
      assertThat(notMine.get("status").asText()).isEqualTo("offline");

      // Paused by the user: offline, as the update channel shows it, with nothing more.
      assertThat(
              ApiClient.forEmail(node, ann)
                  .put("/api/grants/" + puid, "{\"enabled\":false}")
                  .statusCode())
          .isEqualTo(200);
      JsonNode paused = NotifyFixture.json(get("/" + app.id() + "/presence/" + puid, app.key()));
      assertThat(paused.get("status").asText()).isEqualTo("offline");
      assertThat(paused.has("message")).isFalse();
    }
  }

  @Test
  void resumedAfterAPause_theVersionTellsNothingOfAChangeMadeDuringThePause()
      throws InterruptedException {
    App app = app("Query pause");
    String ann = email("ann");
    String puid = NotifyFixture.grant(node, ann, app.id());
    ApiClient settings = ApiClient.forEmail(node, ann);
    String one = "/" + app.id() + "/presence/" + puid;
    try (DeviceTestClient d = online(ann, PresenceStatus.ONLINE, "BEFORE")) {
      long before = NotifyFixture.json(get(one, app.key())).get("version").asLong();

      assertThat(settings.put("/api/grants/" + puid, "{\"enabled\":false}").statusCode())
          .isEqualTo(200);
      assertThat(d.status(PresenceStatus.ONLINE, "DURING")).isEqualTo(DeviceMessage.Ack.INSTANCE);
      Thread.sleep(20);
      // Later than the change made during the pause, earlier than the resume (microseconds, as
      // versions are).
      long duringThePause = System.currentTimeMillis() * 1000;
      Thread.sleep(20);
      assertThat(settings.put("/api/grants/" + puid, "{\"enabled\":true}").statusCode())
          .isEqualTo(200);

      JsonNode resumed = NotifyFixture.json(get(one, app.key()));
      assertThat(resumed.get("message").asText()).isEqualTo("DURING");
      long version = resumed.get("version").asLong();
      assertThat(version).isGreaterThan(duringThePause).isGreaterThan(before);
      JsonNode inBatch =
          NotifyFixture.json(batch(app, puids(List.of(puid)))).get("presence").get(0);
      assertThat(inBatch.get("version").asLong()).isEqualTo(version);

      // A change made since the resume shows a later version of its own.
      assertThat(d.status(PresenceStatus.AWAY, "AFTER")).isEqualTo(DeviceMessage.Ack.INSTANCE);
      JsonNode after = NotifyFixture.json(get(one, app.key()));
      assertThat(after.get("message").asText()).isEqualTo("AFTER");
      assertThat(after.get("version").asLong()).isGreaterThan(version);
    }
  }

  @Test
  void batch_answersInOrder_andStatsCountTheAppsUsers() {
    App app = app("Query batch");
    String ann = email("ann");
    String cat = email("cat");
    String annPuid = NotifyFixture.grant(node, ann, app.id());
    String catPuid = NotifyFixture.grant(node, cat, app.id());
    NotifyFixture.grant(node, email("dan"), app.id());
    String unknown = Puids.generate();
    try (DeviceTestClient a = online(ann, PresenceStatus.ONLINE, null);
        DeviceTestClient c = online(cat, PresenceStatus.UNAVAILABLE, "busy")) {
      HttpResponse<String> r = batch(app, puids(List.of(catPuid, unknown, annPuid, catPuid)));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      JsonNode list = NotifyFixture.json(r).get("presence");
      assertThat(list).hasSize(4);
      assertThat(list.get(0).get("puid").asText()).isEqualTo(catPuid);
      assertThat(list.get(0).get("status").asText()).isEqualTo("unavailable");
      assertThat(list.get(0).get("message").asText()).isEqualTo("busy");
      assertThat(list.get(1).get("puid").asText()).isEqualTo(unknown);
      assertThat(list.get(1).get("status").asText()).isEqualTo("offline");
      assertThat(list.get(2).get("status").asText()).isEqualTo("online");
      assertThat(list.get(3).get("status").asText()).isEqualTo("unavailable");

      HttpResponse<String> s = get("/" + app.id() + "/presence/stats", app.key());
      assertThat(s.statusCode()).as(s.body()).isEqualTo(200);
      JsonNode stats = NotifyFixture.json(s);
      assertThat(stats.get("online").asLong()).isEqualTo(1);
      assertThat(stats.get("away").asLong()).isZero();
      assertThat(stats.get("unavailable").asLong()).isEqualTo(1);
      assertThat(stats.get("offline").asLong()).isEqualTo(1);
      assertThat(stats.get("puids").asLong()).isEqualTo(3);
      assertThat(stats.get("counted_at").asText()).endsWith("Z");
    }
    // An empty batch is a valid, empty answer.
    assertThat(NotifyFixture.json(batch(app, "{\"puids\":[]}")).get("presence")).isEmpty();
  }

  @Test
  void badRequests_getTheirErrno() {
    App app = app("Query refusals");
    String puid = NotifyFixture.grant(node, email("eve"), app.id());
    String one = "/" + app.id() + "/presence/" + puid;
    assertError(get("/999999999/presence/" + puid, app.key()), ErrorCode.UNKNOWN_APP);
    assertError(get("/x1/presence/" + puid, app.key()), ErrorCode.UNKNOWN_APP);
    assertError(get("/999999999/presence/stats", app.key()), ErrorCode.UNKNOWN_APP);
    assertError(
        NotifyFixture.post(
            node, "/999999999/presence", app.key(), "application/json", puids(List.of(puid))),
        ErrorCode.UNKNOWN_APP);
    assertError(
        NotifyFixture.post(
            node, "/" + app.id() + "/presence", null, "application/json", puids(List.of(puid))),
        ErrorCode.UNAUTHORIZED);
    assertError(get(one, null), ErrorCode.UNAUTHORIZED);
    assertError(get(one, "wrong-key"), ErrorCode.INVALID_API_KEY);
    assertError(get("/" + app.id() + "/presence/stats", "wrong-key"), ErrorCode.INVALID_API_KEY);
    assertError(
        NotifyFixture.post(
            node, "/" + app.id() + "/presence", "wrong-key", "application/json", puids(List.of())),
        ErrorCode.INVALID_API_KEY);
    assertError(get("/" + app.id() + "/presence/short", app.key()), ErrorCode.INVALID_PUID);
    assertError(
        get("/" + app.id() + "/presence/" + puid.substring(1) + "%2B", app.key()),
        ErrorCode.INVALID_PUID);
    List<String> many = new ArrayList<>();
    for (int i = 0; i < 1001; i++) {
      many.add(puid);
    }
    assertError(batch(app, puids(many)), ErrorCode.TOO_MANY_PUIDS);
    assertThat(NotifyFixture.json(batch(app, puids(many.subList(0, 1000)))).get("presence"))
        .hasSize(1000);
    assertError(batch(app, puids(List.of(puid, "nope"))), ErrorCode.INVALID_PUID);
    // Over the route's own body limit (64 KiB): refused before it is read.
    assertError(
        batch(app, "{\"puids\":[\"" + "x".repeat(70 * 1024) + "\"]}"), ErrorCode.PAYLOAD_TOO_LARGE);
    assertError(batch(app, "{\"puids\":"), ErrorCode.MALFORMED_JSON);
    assertError(batch(app, "[]"), ErrorCode.MALFORMED_JSON);
    assertError(batch(app, "{}"), ErrorCode.MISSING_FIELD);
    assertError(batch(app, "{\"puids\":[1]}"), ErrorCode.WRONG_FIELD_TYPE);
    assertError(
        NotifyFixture.post(node, "/" + app.id() + "/presence", app.key(), "text/plain", "{}"),
        ErrorCode.UNSUPPORTED_MEDIA_TYPE);
    // Still answering after all of it.
    assertThat(get(one, app.key()).statusCode()).isEqualTo(200);
  }

  @Test
  void rateLimit_refusesWith429AndRetryAfter() throws IOException {
    Path dir = root.resolve("limited");
    Files.createDirectories(dir);
    Map<String, String> s = TestNode.baseSettings(dir);
    s.put("identity.dev-signing", "true");
    s.put("outbound.allow-loopback", "true");
    s.put("queries.rate", "0.01");
    s.put("queries.burst", "2");
    try (TestNode limited = TestNode.start(s, r -> {})) {
      App app = NotifyFixture.activeApp(limited, site, email("dev"), "Query limited");
      String puid = NotifyFixture.grant(limited, email("fay"), app.id());
      String path = "/" + app.id() + "/presence/" + puid;
      HttpRequest request =
          HttpRequest.newBuilder(limited.uri(path))
              .header("Authorization", "Bearer " + app.key())
              .build();
      assertThat(TestNode.send(request).statusCode()).isEqualTo(200);
      assertThat(TestNode.send(request).statusCode()).isEqualTo(200);
      HttpResponse<String> r = TestNode.send(request);
      assertError(r, ErrorCode.QUERY_RATE_LIMITED);
      assertThat(r.headers().firstValue("Retry-After")).hasValueSatisfying(v -> v.matches("\\d+"));
      // A wrong key is refused as such, and takes no token.
      HttpRequest wrong =
          HttpRequest.newBuilder(limited.uri(path)).header("Authorization", "Bearer nope").build();
      assertError(TestNode.send(wrong), ErrorCode.INVALID_API_KEY);
    }
  }
}
