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
  void sign_isTheHexHmacSha256OfTheDeliveryIdALineFeedAndTheBody_withAPrefix() {
    // Computed with Python's hmac module: HMAC-SHA256("Jefe", "7:1-2\nwhat do ya want for
    // nothing?").
    byte[] body = "what do ya want for nothing?".getBytes(StandardCharsets.UTF_8);
    assertThat(WebhookSignature.sign("Jefe", "7:1-2", body))
        .isEqualTo("sha256=9c44ba9d42c2207e76c091b52be157a05681563f6275befb13016773d197a79e");
  }

  @Test
  void verify_acceptsOnlyTheRightSecretDeliveryIdAndBody() {
    byte[] body = "[[\"p\",\"away\"]]".getBytes(StandardCharsets.UTF_8);
    String header = WebhookSignature.sign("s3cret", "7:1-2", body);
    assertThat(WebhookSignature.verify("s3cret", "7:1-2", body, header)).isTrue();
    assertThat(WebhookSignature.verify("other", "7:1-2", body, header)).isFalse();
    assertThat(
            WebhookSignature.verify(
                "s3cret", "7:1-2", "[[\"p\",\"online\"]]".getBytes(StandardCharsets.UTF_8), header))
        .isFalse();
    // The same body under another delivery id (a replay moved forward), or under none.
    assertThat(WebhookSignature.verify("s3cret", "7:3-4", body, header)).isFalse();
    assertThat(WebhookSignature.verify("s3cret", null, body, header)).isFalse();
    assertThat(WebhookSignature.verify("s3cret", "7:1-2", body, null)).isFalse();
    String test = WebhookSignature.sign("s3cret", "", body);
    assertThat(WebhookSignature.verify("s3cret", null, body, test)).isTrue();
  }

  @Test
  void aSnapshotsPart_isSignedWithItsPartBetweenTheDeliveryIdAndTheBody() {
    // Computed with Python's hmac module: HMAC-SHA256("Jefe", "7:0-9\npart=2; last\nwhat do ya
    // want for nothing?").
    byte[] body = "what do ya want for nothing?".getBytes(StandardCharsets.UTF_8);
    String header = WebhookSignature.sign("Jefe", "7:0-9", "part=2; last", body);
    assertThat(header)
        .isEqualTo("sha256=071f270b7f5c44520f14bc34bcde0ef4c169961dfb24f7cf561b646d6447dabd");
    assertThat(WebhookSignature.verify("Jefe", "7:0-9", " part=2; last ", body, header)).isTrue();
    // The same part under another part header, or under none (a call that is no part).
    assertThat(WebhookSignature.verify("Jefe", "7:0-9", "part=2", body, header)).isFalse();
    assertThat(WebhookSignature.verify("Jefe", "7:0-9", "part=1; last", body, header)).isFalse();
    assertThat(WebhookSignature.verify("Jefe", "7:0-9", body, header)).isFalse();
    // A call that is no part does not verify with one.
    String plain = WebhookSignature.sign("Jefe", "7:0-9", body);
    assertThat(WebhookSignature.verify("Jefe", "7:0-9", "part=1; last", body, plain)).isFalse();
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
