package org.presence.gateway.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.updates.AppUpdate;

class WebhookSignatureTest {
  @Test
  void sign_isTheHexHmacSha256OfTheBody_withAPrefix() {
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    byte[] body = "what do ya want for nothing?".getBytes(StandardCharsets.UTF_8);
    assertThat(WebhookSignature.sign("Jefe", body))
        .isEqualTo("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  }

  @Test
  void verify_acceptsOnlyTheRightSecretAndBody() {
    byte[] body = "[[\"p\",\"away\"]]".getBytes(StandardCharsets.UTF_8);
    String header = WebhookSignature.sign("s3cret", body);
    assertThat(WebhookSignature.verify("s3cret", body, header)).isTrue();
    assertThat(WebhookSignature.verify("other", body, header)).isFalse();
    assertThat(
            WebhookSignature.verify(
                "s3cret", "[[\"p\",\"online\"]]".getBytes(StandardCharsets.UTF_8), header))
        .isFalse();
    assertThat(WebhookSignature.verify("s3cret", body, null)).isFalse();
  }

  @Test
  void body_isTheSeedsListOfPairs_latestPerUser() {
    Map<String, AppUpdate> latest = new LinkedHashMap<>();
    Instant now = Instant.now();
    latest.put("UID2949293", new AppUpdate(1, "UID2949293", PresenceStatus.AWAY, "lunch", 1, now));
    latest.put("UID4823888", new AppUpdate(2, "UID4823888", PresenceStatus.ONLINE, "", 2, now));
    assertThat(new String(WebhookDispatcher.body(latest), StandardCharsets.UTF_8))
        .isEqualTo("[[\"UID2949293\",\"away\"],[\"UID4823888\",\"online\"]]");
  }
}
