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
 * Invalid UTF-8 from clients, over real sockets: overlong forms, encoded surrogates and code points
 * above U+10FFFF, which Jackson alone decodes (an overlong {@code C0 BC} becomes {@code <}), fail
 * the connection with close 1007 on the device channel and the update channel (RFC 6455 §8.1, errno
 * −13 first), whole or split between fragments, and are refused as malformed JSON (errno 10) by the
 * JSON API and by the notification API; nothing of them is stored or shown to an application. XMPP
 * over WebSocket has its own test ({@code XmppWebSocketTest}).
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
    HttpResponse<String> r = NotifyFixture.presence(node, app, puid);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return NotifyFixture.json(r);
  }

  /**
   * The ill-formed texts a WebSocket must fail with 1007 (RFC 6455 §8.1), as fragments: each of
   * {@link #BAD} whole in one frame, C3 28 (a lead byte and no continuation), a sequence cut short
   * by the end of the message, and bad bytes split over continuation frames (E2 82 | 28, and an
   * encoded surrogate ED | A0 80, each part of which could begin well-formed text).
   */
  private static List<List<byte[]>> badMessages(String head, String tail) {
    List<List<byte[]>> out = new java.util.ArrayList<>();
    for (String bad : BAD) {
      out.add(List.of(BadUtf8.between(head, bad, tail)));
    }
    out.add(List.of(BadUtf8.between(head, "c3 28", tail)));
    out.add(List.of(BadUtf8.between(head + tail, "e2 82", "")));
    out.add(List.of(BadUtf8.between(head, "e2 82", ""), BadUtf8.between("", "28", tail)));
    out.add(
        List.of(
            BadUtf8.between(head, "ed", ""),
            BadUtf8.between("", "a0", ""),
            BadUtf8.between("", "80", tail)));
    out.add(List.of(BadUtf8.between(head + tail, "", ""), BadUtf8.between("", "f0 9f 98", "")));
    return out;
  }

  /** Sends {@code fragments} as one text message: a frame each, continuations after the first. */
  private static void sendMessage(RawWebSocket ws, List<byte[]> fragments) throws Exception {
    for (int i = 0; i < fragments.size(); i++) {
      ws.send(
          i == 0 ? RawWebSocket.TEXT : RawWebSocket.CONTINUATION,
          i == fragments.size() - 1,
          fragments.get(i));
    }
  }

  /** The fragments' last bytes in hex, for a failure's message (the head is long and known). */
  private static String show(List<byte[]> fragments) {
    return fragments.stream()
        .map(
            f ->
                java.util.HexFormat.ofDelimiter(" ")
                    .formatHex(f, Math.max(0, f.length - 12), f.length))
        .collect(java.util.stream.Collectors.joining(" | "));
  }

  /** Reads the error frame of {@code INVALID_UTF8} and the close with 1007, skipping others. */
  private static void assertFailedWith1007(RawWebSocket ws, String as) throws Exception {
    String reply;
    do {
      reply = ws.readText(WAIT, true);
      assertThat(reply).as(as).isNotNull();
      // A fragmented message is refused at its first frame (10, session kept) before its bytes
      // are found to be no UTF-8 in a later one.
    } while (reply.contains("\"errno\":" + ErrorCode.MALFORMED_JSON.errno() + ","));
    assertThat(reply)
        .as(as)
        .contains("\"result\":false")
        .contains("\"errno\":" + ErrorCode.INVALID_UTF8.errno() + ",");
    RawWebSocket.Frame close = ws.awaitClose(WAIT);
    assertThat(close).as(as).isNotNull();
    assertThat(close.closeCode()).as(as).isEqualTo(1007);
  }

  /**
   * RFC 6455 §8.1 on the device channel: a text frame that is not UTF-8 fails the connection (error
   * frame −13, close 1007) after the answers due before it, and nothing of it reaches the
   * application; a fragmented message (refused with errno 10, session kept) whose bytes are not
   * UTF-8, even split between its fragments, fails it too. Well-formed text split between fragments
   * does not.
   */
  @Test
  void deviceStatus_withInvalidUtf8_failsTheConnectionWith1007_andTheAppSeesTheLastGoodMessage()
      throws Exception {
    String email = "device-user@example.com";
    String puid = NotifyFixture.grant(node, email, app.id());
    int round = 0;
    for (List<byte[]> bad : badMessages("\u0000", "\"}")) {
      String good = "lunch " + round++;
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
        // Well-formed text cut inside a character is refused as fragmented, and the session kept.
        byte[] e = (head + good + " é\"}").getBytes(StandardCharsets.UTF_8);
        int cut = e.length - 3;
        sendMessage(
            ws,
            List.of(
                java.util.Arrays.copyOfRange(e, 0, cut),
                java.util.Arrays.copyOfRange(e, cut, e.length)));
        assertThat(ws.readText(WAIT, true))
            .contains("\"errno\":" + ErrorCode.MALFORMED_JSON.errno() + ",");
        // A good status, then the bad one right after it: the first is answered, then the error.
        List<byte[]> fragments =
            bad.stream()
                .map(f -> new String(f, StandardCharsets.ISO_8859_1))
                .map(f -> f.replace("\u0000", head).getBytes(StandardCharsets.ISO_8859_1))
                .toList();
        ws.send(RawWebSocket.TEXT, true, (head + good + "\"}").getBytes(StandardCharsets.UTF_8));
        sendMessage(ws, fragments);
        assertThat(ws.readText(WAIT, true)).as(show(fragments)).isEqualTo("{\"result\":true}");
        assertFailedWith1007(ws, show(fragments));
        assertThat(ws.ended(WAIT)).as(show(fragments)).isTrue();
      }
      await().atMost(WAIT).until(() -> good.equals(presence(puid).path("message").asText()));
    }
    // Before the session opens it fails the same way.
    try (RawWebSocket ws = RawWebSocket.connect(node.port(), "/presence")) {
      ws.send(RawWebSocket.TEXT, true, BadUtf8.between("{\"type\":\"", "c0 bc", "\"}"));
      assertFailedWith1007(ws, "before connect");
    }
  }

  /**
   * RFC 6455 §8.1 on the update channel: text that is not UTF-8, in the key frame or in any later
   * frame (which the channel does not read), whole or split between fragments, fails the connection
   * with −13 and close 1007.
   */
  @Test
  void updateChannel_textNotUtf8_inTheKeyFrameOrAfter_failsTheConnectionWith1007()
      throws Exception {
    for (List<byte[]> bad : badMessages("{\"key\":\"" + app.key(), "\"}")) {
      if (bad.size() == 1) {
        // The application's own key with ill-formed bytes after it: a key Jackson alone might
        // have read (an overlong form decodes to a character) is refused before any key check.
        // (A key frame in fragments is refused at its first, 15, before the rest arrives.)
        try (RawWebSocket ws = RawWebSocket.connect(node.port(), "/" + app.id())) {
          sendMessage(ws, bad);
          assertFailedWith1007(ws, "key frame " + show(bad));
        }
      }
      try (RawWebSocket ws = RawWebSocket.connect(node.port(), "/" + app.id())) {
        ws.sendText("{\"key\":\"" + app.key() + "\"}");
        assertThat(ws.readText(WAIT, true)).isEqualTo("{\"result\":true}");
        assertThat(ws.readText(WAIT, true)).contains("\"snapshot\"");
        sendMessage(ws, bad);
        String as = "after the key " + show(bad);
        String reply;
        do {
          // The fragments before the bad bytes are answered as any frame after the key is (23).
          reply = ws.readText(WAIT, true);
          assertThat(reply).as(as).isNotNull();
        } while (reply.contains("\"errno\":" + ErrorCode.ALREADY_CONNECTED.errno() + ","));
        assertThat(reply).as(as).contains("\"errno\":" + ErrorCode.INVALID_UTF8.errno() + ",");
        RawWebSocket.Frame close = ws.awaitClose(WAIT);
        assertThat(close).as(as).isNotNull();
        assertThat(close.closeCode()).as(as).isEqualTo(1007);
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
