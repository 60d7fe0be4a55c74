package org.presence.gateway.apps;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.outbound.OutboundException;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WebClient;
import org.presence.gateway.webhook.DeliveryLog;
import org.presence.protocol.error.ErrorCode;

/**
 * A developer's outbound requests on demand are rate limited per developer: domain proofs ({@code
 * apps.verify-rate}, {@code apps.verify-burst}; the JSON API and the portal's Verify share the
 * bucket) and webhook test calls ({@code webhooks.test-rate}, {@code webhooks.test-burst}); beyond,
 * {@code SLOW_DOWN} (40) with 429 and {@code Retry-After}, the portal its error page, and no
 * request is sent. A test call that fails says why in a few fixed words, without the address or the
 * exception's text.
 */
class DeveloperRateLimitTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path dir;
  private static TestNode node;
  private static int closedPort;

  @BeforeAll
  static void start() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    Map<String, String> s = TestNode.baseSettings(dir);
    s.put("outbound.allow-loopback", "true");
    s.put("apps.verify-timeout", "2s");
    // One token per 1000 s: nothing refills during the test.
    s.put("apps.verify-rate", "0.001");
    s.put("apps.verify-burst", "3");
    s.put("webhooks.test-rate", "0.001");
    s.put("webhooks.test-burst", "2");
    node = TestNode.start(s, r -> {});
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
  }

  private static JsonNode json(HttpResponse<String> r) throws Exception {
    return JSON.readTree(r.body());
  }

  /** Registers an application whose domain answers nothing (a closed loopback port). */
  private static long register(ApiClient dev) throws Exception {
    HttpResponse<String> r =
        dev.post(
            "/api/apps",
            "{\"name\":\"Quiet\",\"domain\":\"127.0.0.1:"
                + closedPort
                + "\",\"description\":\"t\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    return json(r).get("id").asLong();
  }

  private static void assertSlowDown(HttpResponse<String> r) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(429);
    assertThat(json(r).get("errno").asInt()).isEqualTo(ErrorCode.SLOW_DOWN.errno());
    assertThat(Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow())).isPositive();
  }

  @Test
  void verify_beyondTheBurst_isRefusedWith429_onTheApiAndThePortal() throws Exception {
    ApiClient dev = ApiClient.forEmail(node, "vera@example.com");
    long id = register(dev);
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> failed = dev.post("/api/apps/" + id + "/verify", null);
      assertThat(failed.statusCode()).as(failed.body()).isEqualTo(422);
    }
    assertSlowDown(dev.post("/api/apps/" + id + "/verify", null));

    WebClient web = new WebClient(node).signIn("vera@example.com");
    web.get("/myapps/" + id);
    HttpResponse<String> page = web.post("/myapps/" + id + "/verify", Map.of());
    assertThat(page.statusCode()).isEqualTo(429);
    assertThat(page.headers().firstValue("Retry-After")).isPresent();
    assertThat(page.body()).contains("Too many tries in a short time");

    // Another developer has a bucket of their own.
    ApiClient other = ApiClient.forEmail(node, "otto@example.com");
    HttpResponse<String> own = other.post("/api/apps/" + register(other) + "/verify", null);
    assertThat(own.statusCode()).as(own.body()).isEqualTo(422);
  }

  @Test
  void webhookTestCalls_beyondTheBurst_areRefused_andAFailureIsToldInFixedWords() throws Exception {
    ApiClient dev = ApiClient.forEmail(node, "wes@example.com");
    long id = register(dev);
    String url = "http://127.0.0.1:" + closedPort + "/hook";
    HttpResponse<String> set = dev.put("/api/apps/" + id + "/webhook", "{\"url\":\"" + url + "\"}");
    assertThat(set.statusCode()).as(set.body()).isEqualTo(200);

    WebClient web = new WebClient(node).signIn("wes@example.com");
    for (int i = 0; i < 2; i++) {
      web.get("/myapps/" + id);
      HttpResponse<String> page = web.post("/myapps/" + id + "/webhook-test", Map.of());
      assertThat(page.statusCode()).as(page.body()).isEqualTo(200);
      assertThat(page.body()).contains("could not connect").doesNotContain("connect failed");
    }
    DeliveryLog.Delivery logged = node.server().webhooks().recentCalls(id).get(0);
    assertThat(logged.test()).isTrue();
    assertThat(logged.failure()).isEqualTo("could not connect");

    web.get("/myapps/" + id);
    HttpResponse<String> refused = web.post("/myapps/" + id + "/webhook-test", Map.of());
    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(refused.headers().firstValue("Retry-After")).isPresent();
    assertThat(refused.body()).contains("Too many tries in a short time");
    assertThat(node.server().webhooks().recentCalls(id)).as("no third call").hasSize(2);
  }

  @Test
  void outboundFailures_inWords_neverEchoTheDetail() {
    assertThat(
            new OutboundException(
                    OutboundException.Failure.CONNECT_FAILED,
                    "TLS: No subject alternative DNS name matching internal.example found")
                .inWords())
        .isEqualTo("TLS failed");
    assertThat(
            new OutboundException(
                    OutboundException.Failure.CONNECT_FAILED, "127.0.0.1:22 (Connection refused)")
                .inWords())
        .isEqualTo("could not connect");
    assertThat(
            new OutboundException(
                    OutboundException.Failure.ADDRESS_NOT_ALLOWED,
                    "x is a loopback address 127.0.0.1")
                .inWords())
        .isEqualTo("address not allowed");
    assertThat(
            new OutboundException(OutboundException.Failure.TIMEOUT, "no answer within 10000 ms")
                .inWords())
        .isEqualTo("timed out");
  }
}
