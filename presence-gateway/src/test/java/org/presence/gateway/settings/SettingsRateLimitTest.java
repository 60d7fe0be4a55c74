package org.presence.gateway.settings;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WebClient;
import org.presence.protocol.error.ErrorCode;

/**
 * A user's settings changes are rate limited per user ({@code settings.rate}, {@code
 * settings.burst}): the JSON API and the settings page draw on the same bucket, and beyond it get
 * {@code SLOW_DOWN} (40) with 429 and {@code Retry-After}; the page its error page. A change
 * refused as invalid takes no token; another user has a bucket of their own. Reads of the JSON API
 * ({@code settings.read-rate}, {@code settings.read-burst}, per node) have a bucket of their own
 * and the same answer beyond it.
 */
class SettingsRateLimitTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path dir;
  private static TestNode node;

  @BeforeAll
  static void start() {
    Map<String, String> s = TestNode.baseSettings(dir);
    // One token per 1000 s: nothing refills during the test.
    s.put("settings.rate", "0.001");
    s.put("settings.burst", "3");
    s.put("settings.read-rate", "0.001");
    s.put("settings.read-burst", "3");
    node = TestNode.start(s, r -> {});
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
  }

  private static HttpResponse<String> put(String email, String custom) {
    return ApiClient.forEmail(node, email)
        .put("/api/settings", "{\"custom_status\":\"" + custom + "\"}");
  }

  private static JsonNode json(HttpResponse<String> r) throws Exception {
    return JSON.readTree(r.body());
  }

  @Test
  void changes_beyondTheBurst_areRefusedWith429AndRetryAfter_onTheApiAndThePage() throws Exception {
    // An invalid change takes no token.
    HttpResponse<String> invalid =
        ApiClient.forEmail(node, "rita@example.com")
            .put("/api/settings", "{\"online_within_minutes\":7}");
    assertThat(invalid.statusCode()).isEqualTo(400);
    assertThat(put("rita@example.com", "one").statusCode()).isEqualTo(200);
    assertThat(put("rita@example.com", "two").statusCode()).isEqualTo(200);
    WebClient page = new WebClient(node).signIn("rita@example.com");
    page.get("/settings");
    HttpResponse<String> saved =
        page.post(
            "/settings",
            Map.of(
                "custom_status", "three",
                "away_message", "",
                "online_within_minutes", "5",
                "away_after_minutes", "10",
                "offline_after_minutes", "25"));
    assertThat(saved.statusCode()).as(saved.body()).isEqualTo(303);

    HttpResponse<String> refused = put("rita@example.com", "four");
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(429);
    assertThat(json(refused).get("errno").asInt()).isEqualTo(ErrorCode.SLOW_DOWN.errno());
    assertThat(Long.parseLong(refused.headers().firstValue("Retry-After").orElseThrow()))
        .isPositive();

    page.get("/settings");
    HttpResponse<String> pageRefused =
        page.post(
            "/settings",
            Map.of(
                "custom_status", "five",
                "away_message", "",
                "online_within_minutes", "5",
                "away_after_minutes", "10",
                "offline_after_minutes", "25"));
    assertThat(pageRefused.statusCode()).isEqualTo(429);
    assertThat(pageRefused.headers().firstValue("Retry-After")).isPresent();
    assertThat(pageRefused.body()).contains("Too many tries in a short time");

    // Nothing refused was saved.
    JsonNode now = json(ApiClient.forEmail(node, "rita@example.com").get("/api/settings"));
    assertThat(now.get("custom_status").asText()).isEqualTo("three");

    // Another user is not held up by this one.
    assertThat(put("sam@example.com", "hello").statusCode()).isEqualTo(200);
  }

  @Test
  void reads_beyondTheBurst_areRefusedWith429AndRetryAfter_withoutTakingChanges() throws Exception {
    ApiClient tom = ApiClient.forEmail(node, "tom@example.com");
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> read = tom.get("/api/settings");
      assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
    }
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> refused = tom.get("/api/settings");
      assertThat(refused.statusCode()).as(refused.body()).isEqualTo(429);
      assertThat(json(refused).get("errno").asInt()).isEqualTo(ErrorCode.SLOW_DOWN.errno());
      assertThat(Long.parseLong(refused.headers().firstValue("Retry-After").orElseThrow()))
          .isPositive();
    }
    // Changes have their own bucket, and the settings page reads on the server, uncounted.
    assertThat(put("tom@example.com", "still here").statusCode()).isEqualTo(200);
    WebClient page = new WebClient(node).signIn("tom@example.com");
    HttpResponse<String> shown = page.get("/settings");
    assertThat(shown.statusCode()).isEqualTo(200);
    assertThat(shown.body()).contains("still here");
    // Another user reads at once.
    assertThat(ApiClient.forEmail(node, "uma@example.com").get("/api/settings").statusCode())
        .isEqualTo(200);
  }
}
