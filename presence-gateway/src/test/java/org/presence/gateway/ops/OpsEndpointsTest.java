package org.presence.gateway.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.TestNode;

class OpsEndpointsTest {
  @TempDir Path dataDir;
  TestNode node;

  @BeforeEach
  void start() {
    node = TestNode.embedded(dataDir);
  }

  @AfterEach
  void stop() {
    node.close();
  }

  @Test
  void lbHeartbeat_answers200() {
    HttpResponse<String> r = node.get("/__lbheartbeat__");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
  }

  @Test
  void heartbeat_whenBackendsAnswer_then200WithKinds() {
    HttpResponse<String> r = node.get("/__heartbeat__");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body())
        .contains("\"status\":\"ok\"")
        .contains("\"database\":{\"kind\":\"embedded\",\"status\":\"ok\"}")
        .contains("\"bus\":{\"kind\":\"local\",\"status\":\"ok\"}")
        .contains("\"notifications\":{\"kind\":\"journal\",\"status\":\"ok\"}")
        .contains("\"identity\":{\"kind\":\"none\",\"status\":\"ok\"}")
        .contains("\"failing\":[]");
  }

  @Test
  void heartbeat_whenBusDown_then503NamingIt() {
    node.server().store().bus().close();
    HttpResponse<String> r = node.get("/__heartbeat__");
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.body())
        .startsWith("{\"status\":\"degraded\"")
        .contains("\"bus\":{\"kind\"")
        .contains("\"status\":\"error\"")
        .contains("\"failing\":[\"bus\"]");
    assertThat(node.get("/__lbheartbeat__").statusCode()).isEqualTo(200);
  }

  @Test
  void heartbeat_onTheGatewayPort_saysWhatFailsButNotWhatItAnswered() {
    node.server().store().bus().close();
    node.server().store().persistence().close();
    HttpResponse<String> open = node.get("/__heartbeat__");
    assertThat(open.statusCode()).isEqualTo(503);
    assertThat(open.body())
        .contains(
            "\"database\":{\"kind\":\"embedded\",\"status\":\"error\",\"error\":\"unavailable\"}")
        .contains("\"bus\":{\"kind\":\"local\",\"status\":\"error\",\"error\":\"unavailable\"}");
    HttpResponse<String> admin = node.adminGet("/__heartbeat__");
    assertThat(admin.statusCode()).isEqualTo(503);
    assertThat(admin.body())
        .contains("\"failing\":[\"database\",\"bus\"]")
        .doesNotContain("\"error\":\"unavailable\"");
  }

  @Test
  void heartbeat_whenDatabaseDown_then503NamingIt() {
    node.server().store().persistence().close();
    HttpResponse<String> r = node.get("/__heartbeat__");
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.body()).contains("\"failing\":[\"database\"]");
  }

  @Test
  void heartbeat_whenTheIdentityProvidersKeysCannotBeLoaded_then503NamingIt_untilTheyCan()
      throws Exception {
    AtomicReference<String> served = new AtomicReference<>();
    HttpServer provider = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    provider.createContext(
        "/jwks.json",
        ex -> {
          String body = served.get();
          byte[] bytes = (body == null ? "down" : body).getBytes(StandardCharsets.UTF_8);
          ex.sendResponseHeaders(body == null ? 503 : 200, bytes.length);
          ex.getResponseBody().write(bytes);
          ex.close();
        });
    provider.start();
    String url = "http://127.0.0.1:" + provider.getAddress().getPort() + "/jwks.json";
    Map<String, String> settings = TestNode.baseSettings(dataDir.resolve("provider"));
    settings.put("identity.jwks-url", url);
    settings.put("identity.jwks-min-refresh-interval", "1s");
    try (TestNode withProvider = TestNode.start(settings, r -> {})) {
      HttpResponse<String> r = withProvider.get("/__heartbeat__");
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.body())
          .contains(
              "\"identity\":{\"kind\":\"jwks-url\",\"status\":\"error\",\"error\":\"unavailable\"}")
          .doesNotContain(url)
          .contains("\"failing\":[\"identity\"]");
      // The admin port says why.
      assertThat(withProvider.adminGet("/__heartbeat__").body()).contains(url);

      // The provider answers: no device has to come for the node to load the keys; the
      // heartbeat's own asking (at most once a minimum refresh interval) does.
      ECKey key = new ECKeyGenerator(Curve.P_256).keyID("k1").generate();
      served.set(new JWKSet(key.toPublicJWK()).toString());
      await()
          .atMost(Duration.ofSeconds(15))
          .untilAsserted(
              () -> {
                HttpResponse<String> ok = withProvider.get("/__heartbeat__");
                assertThat(ok.statusCode()).isEqualTo(200);
                assertThat(ok.body())
                    .contains("\"identity\":{\"kind\":\"jwks-url\",\"status\":\"ok\"}");
              });
    } finally {
      provider.stop(0);
    }
  }

  @Test
  void version_namesVersionAndCommit() {
    HttpResponse<String> r = node.get("/__version__");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).contains("\"version\":\"").contains("\"commit\":\"");
  }

  @Test
  void metrics_areServedOnTheAdminPortOnly() {
    assertThat(node.server().adminAddress().getAddress().isLoopbackAddress()).isTrue();
    assertThat(node.adminPort()).isNotEqualTo(node.port());
    for (String path : new String[] {"/metrics", "/metrics/", "/metrics?x=1"}) {
      HttpResponse<String> r = node.get(path);
      assertThat(r.statusCode()).as(path).isEqualTo(404);
      assertThat(r.body()).doesNotContain("presence_connections_open");
    }
    assertThat(node.adminGet("/metrics/").statusCode()).isEqualTo(200);
    // Load balancers keep their endpoints on the gateway port; the admin port has them too.
    assertThat(node.get("/__lbheartbeat__").statusCode()).isEqualTo(200);
    assertThat(node.adminGet("/__heartbeat__").statusCode()).isEqualTo(200);
  }

  @Test
  void metrics_isPrometheusTextWithConnectionsFramesErrorsAndJvm() {
    node.get("/no-such-path");
    HttpResponse<String> r = node.adminGet("/metrics");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("text/plain; version=0.0.4"));
    assertThat(r.body())
        .contains("# TYPE presence_connections_open gauge")
        .contains("presence_connections_open{kind=\"http\"}")
        .contains("presence_connections_open{kind=\"device\"} 0")
        .contains("presence_frames_in_total{kind=\"http\"}")
        .contains("presence_errors_total{errno=\"101\",error=\"not_found\"} 1")
        .contains("presence_http_responses_total{status=\"404\"} 1")
        .contains("jvm_memory_heap_used")
        .containsPattern("jvm_gc_\\w+_count");
  }
}
