package org.presence.gateway.apps;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.presence.gateway.auth.WebSessions;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WebClient;
import org.presence.store.testing.Backends;

/**
 * The applications flow on the cluster configuration: real PostgreSQL (a schema of its own) and
 * Redis (a key prefix of its own), with loopback and development signing switched on explicitly.
 * Adds what only a cluster shows: a key regenerated on one node stops working on another at once,
 * and a pause on one node reaches the other's enabled-grants cache.
 */
class PostgresAppsFlowIT extends AppsFlowContract {
  private static String schema;
  private static String prefix;

  @BeforeAll
  static void backends() {
    Backends.databaseUrl();
    Backends.redisUrl();
    schema = Backends.uniqueSchema(PostgresAppsFlowIT.class);
    prefix = Backends.uniquePrefix(PostgresAppsFlowIT.class);
  }

  @AfterAll
  static void drop() {
    if (schema != null) {
      Backends.dropSchema(schema);
    }
  }

  @Override
  protected Map<String, String> settings(Path dataDir) {
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("store.database.url", Backends.databaseUrl());
    s.put("store.database.schema", schema);
    s.put("store.redis.url", Backends.redisUrl());
    s.put("store.redis.key-prefix", prefix);
    s.put("identity.dev-signing", "true");
    s.put("outbound.allow-loopback", "true");
    s.put("web.session-secret", "a-shared-secret-of-at-least-32-characters");
    return s;
  }

  @Test
  void cluster_defaultsRefuseLoopbackButTheseTestsAllowIt() {
    assertThat(node.server().config().embedded()).isFalse();
    assertThat(node.server().store().persistence().kind()).isEqualTo("postgresql");
    assertThat(node.server().config().outbound().allowLoopback()).isTrue();
  }

  @Test
  void cluster_regeneratedKeyStopsWorkingOnAnotherNodeAtOnce() {
    Path otherDir = dataDir.resolve("node-b");
    Map<String, String> s = settings(otherDir);
    try (TestNode other = TestNode.start(s, r -> {})) {
      // Each node has its own development key, so the API calls go to the first node; the key
      // checks and cache reads happen on both.
      String[] key = new String[1];
      long id = activeApp(ApiClient.forEmail(node, mail("dev")), "Fanout", key)[0];
      assertThat(keyWorks(other, id, key[0])).isTrue(); // now cached on node B

      HttpResponse<String> regenerated =
          ApiClient.forEmail(node, mail("dev")).post("/api/apps/" + id + "/key", null);
      assertThat(regenerated.statusCode()).isEqualTo(200);
      String fresh = json(regenerated).get("api_key").asText();
      await()
          .atMost(Duration.ofSeconds(20))
          .untilAsserted(() -> assertThat(keyWorks(other, id, key[0])).isFalse());
      assertThat(keyWorks(other, id, fresh)).isTrue();

      // Grants: node B caches Marge's enabled grants; a pause on node A empties them there.
      ApiClient marge = ApiClient.forEmail(node, mail("marge"));
      String puid =
          json(marge.post("/api/grants", "{\"app_id\":" + id + ",\"id\":\"Fred\"}"))
              .get("puid")
              .asText();
      var grantsB = other.server().appFeatures().grants();
      assertThat(done(grantsB.enabledGrants("dev:" + mail("marge")))).hasSize(1);
      assertThat(marge.put("/api/grants/" + puid, "{\"enabled\":false}").statusCode())
          .isEqualTo(200);
      await()
          .atMost(Duration.ofSeconds(20))
          .untilAsserted(
              () -> assertThat(done(grantsB.enabledGrants("dev:" + mail("marge")))).isEmpty());
    }
  }

  @Test
  void cluster_signOutOnOneNodeEndsThePageSessionOnTheOther() throws Exception {
    Path otherDir = dataDir.resolve("node-b");
    try (TestNode other = TestNode.start(settings(otherDir), r -> {})) {
      WebClient web = new WebClient(node).signIn(mail("roamer"));
      String session = web.cookie(WebSessions.SESSION_COOKIE);
      HttpRequest settingsOnB =
          HttpRequest.newBuilder(other.uri("/settings"))
              .header("Cookie", WebSessions.SESSION_COOKIE + "=" + session)
              .GET()
              .build();
      // The same session works on node B (read from the shared database, now in B's memory).
      assertThat(TestNode.send(settingsOnB).statusCode()).isEqualTo(200);
      web.get("/settings"); // the signed-in page's form token
      assertThat(web.post("/signout", Map.of()).statusCode()).isEqualTo(303);
      // Node B drops its copy when the invalidation arrives over Redis, long before the copy
      // would expire on its own (WebSessions.CACHE_TTL).
      await()
          .atMost(WebSessions.CACHE_TTL.dividedBy(2))
          .untilAsserted(() -> assertThat(TestNode.send(settingsOnB).statusCode()).isEqualTo(303));
    }
  }
}
