package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.app.Secrets;
import org.presence.gateway.testing.TestNode;

class PushStatusHandlerTest {
  private static final String SECRET = "push-secret-0123456789abcdef";

  @Test
  void authorized_comparesDigestsOfEqualLength_whateverThePresentedLength() {
    byte[] expected = Secrets.sha256("Bearer " + SECRET);
    assertThat(expected).hasSize(32);
    assertThat(PushStatusHandler.authorized(expected, "Bearer " + SECRET)).isTrue();
    // Same length, one byte off; shorter; a prefix; longer; empty; absent: all refused by the
    // same comparison of two 32-byte digests.
    assertThat(PushStatusHandler.authorized(expected, "Bearer " + SECRET.replace('0', '1')))
        .isFalse();
    assertThat(PushStatusHandler.authorized(expected, "Bearer x")).isFalse();
    assertThat(PushStatusHandler.authorized(expected, "Bearer " + SECRET.substring(1))).isFalse();
    assertThat(PushStatusHandler.authorized(expected, "Bearer " + SECRET + "0")).isFalse();
    assertThat(PushStatusHandler.authorized(expected, "")).isFalse();
    assertThat(PushStatusHandler.authorized(expected, null)).isFalse();
  }

  @Test
  void wrongLengthSecret_gets401_rightOneIsAccepted(@TempDir Path dir) {
    Map<String, String> s = TestNode.baseSettings(dir);
    s.put("push.secret", SECRET);
    try (TestNode node = TestNode.start(s, r -> {})) {
      String body = "{\"xpi\":\"nobody\",\"xps\":\"O\"}";
      for (String bearer : new String[] {"x", SECRET + SECRET, SECRET.substring(3)}) {
        HttpResponse<String> r = post(node, bearer, body);
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(r.body()).contains("\"errno\":110");
      }
      assertThat(post(node, SECRET, body).statusCode()).isNotEqualTo(401);
    }
  }

  @Test
  void aBodyThatIsNotJson_gets415_afterTheSecret(@TempDir Path dir) {
    Map<String, String> s = TestNode.baseSettings(dir);
    s.put("push.secret", SECRET);
    try (TestNode node = TestNode.start(s, r -> {})) {
      String body = "{\"xpi\":\"nobody\",\"xps\":\"O\"}";
      // As on every JSON route: text/plain, none, or a type that only starts like JSON's.
      for (String type : new String[] {"text/plain", null, "application/jsonx"}) {
        HttpResponse<String> r = post(node, SECRET, type, body);
        assertThat(r.statusCode()).as(type).isEqualTo(415);
        assertThat(r.body()).as(type).contains("\"errno\":104");
      }
      // The secret comes first: a caller without it learns nothing about its body.
      HttpResponse<String> unauthorized = post(node, "x", "text/plain", body);
      assertThat(unauthorized.statusCode()).isEqualTo(401);
      // JSON in any case, with a charset, is read: nobody tied this id (25, 404).
      HttpResponse<String> json = post(node, SECRET, "Application/JSON; charset=utf-8", body);
      assertThat(json.statusCode()).isEqualTo(404);
      assertThat(json.body()).contains("\"errno\":25");
    }
  }

  private static HttpResponse<String> post(TestNode node, String bearer, String body) {
    return post(node, bearer, "application/json", body);
  }

  private static HttpResponse<String> post(
      TestNode node, String bearer, String contentType, String body) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(node.uri("/push/status"))
            .header("Authorization", "Bearer " + bearer)
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    return TestNode.send(b.build());
  }
}
