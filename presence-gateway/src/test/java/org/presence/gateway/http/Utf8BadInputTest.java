package org.presence.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.BadUtf8;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.RawWebSocket;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.device.DeviceCodec;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.error.ErrorCode;

/**
 * Invalid UTF-8 in client JSON, over real sockets: overlong forms, encoded surrogates and code
 * points above U+10FFFF, which Jackson alone decodes (an overlong {@code C0 BC} becomes {@code <}),
 * are refused as malformed JSON (errno 10) on the device channel, in the update channel's key
 * frame, by the JSON API and by the notification API, and nothing of them is stored or shown to an
 * application.
 */
class Utf8BadInputTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  /** The ill-formed sequences, between "x" and "y" (an overlong '<' would make "x<y"). */
  private static final List<String> BAD =
      BadUtf8.SEQUENCES.stream().map(hex -> "78 " + hex + " 79").toList();

  @TempDir static Path dir;
  static TestNode node;
  static DomainStub site;
  static NotifyFixture.App app;

  @BeforeAll
  static void start() {
    Map<String, String> settings = TestNode.baseSettings(dir);
    settings.put("identity.dev-signing", "true");
    settings.put("outbound.allow-loopback", "true");
    settings.put("device.handshake-rate", "0");
    settings.put("device.rate", "100");
    settings.put("device.burst", "100");
    node = TestNode.start(settings, r -> {});
    site = DomainStub.start();
    app = NotifyFixture.activeApp(node, site, "dev@example.com", "Utf8");
  }

  @AfterAll
  static void stop() {
    site.close();
    node.close();
  }

  /** {@code before}, then the bytes of {@code hex}, then {@code after}. */
  private static HttpResponse<String> send(String method, String path, String token, byte[] body) {
    return TestNode.send(
        HttpRequest.newBuilder(node.uri(path))
            .header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json")
            .method(method, HttpRequest.BodyPublishers.ofByteArray(body))
            .build());
  }

  private static void assertMalformed(HttpResponse<String> r) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(ErrorCode.MALFORMED_JSON.httpStatus());
    JsonNode json = NotifyFixture.json(r);
    assertThat(json.get("result").asBoolean()).isFalse();
    assertThat(json.get("errno").asInt()).as(r.body()).isEqualTo(ErrorCode.MALFORMED_JSON.errno());
  }

  private static JsonNode presence(String puid) {
    HttpResponse<String> r =
        TestNode.send(
            HttpRequest.newBuilder(node.uri("/" + app.id() + "/presence/" + puid))
                .header("Authorization", "Bearer " + app.key())
                .build());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return NotifyFixture.json(r);
  }

  @Test
  void deviceStatus_withInvalidUtf8_isErrno10_andTheAppSeesTheLastGoodMessage() throws Exception {
    String email = "device-user@example.com";
    String puid = NotifyFixture.grant(node, email, app.id());
    try (RawWebSocket ws = RawWebSocket.connect(node.port(), "/presence")) {
      ws.send(
          RawWebSocket.TEXT,
          true,
          DeviceCodec.toBytes(new Connect(node.token(email), null, "phone")));
      String connected = ws.readText(WAIT, true);
      assertThat(connected).contains("session_id");
      int at = connected.indexOf("session_id\":\"") + 13;
      String session = connected.substring(at, at + 36);
      String head =
          "{\"type\":\"status\",\"session_id\":\""
              + session
              + "\",\"status\":\"away\",\"message\":\"";
      ws.send(RawWebSocket.TEXT, true, (head + "lunch\"}").getBytes(StandardCharsets.UTF_8));
      assertThat(ws.readText(WAIT, true)).isEqualTo("{\"result\":true}");
      await().atMost(WAIT).until(() -> "lunch".equals(presence(puid).path("message").asText()));
      for (String bad : BAD) {
        ws.send(RawWebSocket.TEXT, true, BadUtf8.between(head, bad, "\"}"));
        String reply = ws.readText(WAIT, true);
        assertThat(reply).as(bad).contains("\"result\":false").contains("\"errno\":10");
      }
      // The session is kept, and the application never saw any of them.
      ws.send(RawWebSocket.TEXT, true, (head + "x<y\"}").getBytes(StandardCharsets.UTF_8));
      assertThat(ws.readText(WAIT, true)).isEqualTo("{\"result\":true}");
      await().atMost(WAIT).until(() -> "x<y".equals(presence(puid).path("message").asText()));
    }
  }

  @Test
  void updateChannelKeyFrame_withInvalidUtf8_isErrno10_andClosedWith4010() throws Exception {
    for (String bad : BAD) {
      try (RawWebSocket ws = RawWebSocket.connect(node.port(), "/" + app.id())) {
        // The application's own key with ill-formed bytes after it: a key Jackson alone might
        // have read (an overlong form decodes to a character) is refused before any key check.
        ws.send(RawWebSocket.TEXT, true, BadUtf8.between("{\"key\":\"" + app.key(), bad, "\"}"));
        String reply = ws.readText(WAIT, true);
        assertThat(reply).as(bad).contains("\"result\":false").contains("\"errno\":10");
        assertThat(ws.awaitClose(WAIT).closeCode())
            .as(bad)
            .isEqualTo(ErrorCode.MALFORMED_JSON.closeCode());
      }
    }
  }

  @Test
  void putSettings_withInvalidUtf8_isErrno10_andChangesNothing() {
    String token = node.token("settings-user@example.com");
    ApiClient api = new ApiClient(node, token);
    assertThat(api.put("/api/settings", "{\"custom_status\":\"at my desk\"}").statusCode())
        .isEqualTo(200);
    for (String bad : BAD) {
      assertMalformed(
          send(
              "PUT", "/api/settings", token, BadUtf8.between("{\"custom_status\":\"", bad, "\"}")));
    }
    assertThat(NotifyFixture.json(api.get("/api/settings")).get("custom_status").asText())
        .isEqualTo("at my desk");
  }

  @Test
  void postNotification_withInvalidUtf8_isErrno10_andStoresNothing() {
    String puid = NotifyFixture.grant(node, "notified-user@example.com", app.id());
    String head =
        "[{\"UID\":\"" + puid + "\",\"action\":\"https://example.com/open\",\"message\":\"";
    for (String bad : BAD) {
      assertMalformed(
          send(
              "POST",
              "/" + app.id() + "/notification",
              app.key(),
              BadUtf8.between(head, bad, "\"}]")));
    }
    // A good batch is stored as the first of the queue: none of the refused ones was.
    NotifyFixture.ack(
        send(
            "POST",
            "/" + app.id() + "/notification",
            app.key(),
            (head + "x<y\"}]").getBytes(StandardCharsets.UTF_8)));
    assertThat(
            NotifyFixture.ack(
                    send(
                        "POST",
                        "/" + app.id() + "/notification",
                        app.key(),
                        (head + "again\"}]").getBytes(StandardCharsets.UTF_8)))
                .results()
                .get(0)
                .queueSize())
        .isEqualTo(2);
  }

  @Test
  void presenceQuery_withInvalidUtf8_isErrno10() {
    for (String bad : BAD) {
      assertMalformed(
          send(
              "POST",
              "/" + app.id() + "/presence",
              app.key(),
              BadUtf8.between("{\"puids\":[\"", bad, "\"]}")));
    }
  }
}
