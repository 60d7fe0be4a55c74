package org.presence.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class WebhookVerifierTest {
  // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), the widely published
  // example.
  private static final String FOX =
      "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8";

  @Test
  void verifiesTheHexHmacOfTheExactBytes() {
    WebhookVerifier v = new WebhookVerifier("key");
    byte[] body = "The quick brown fox jumps over the lazy dog".getBytes(StandardCharsets.UTF_8);
    assertThat(v.verify(body, FOX)).isTrue();
    assertThat(v.verify(body, " " + FOX + " ")).isTrue();
    assertThat(v.verify(body, FOX.toUpperCase(java.util.Locale.ROOT))).isFalse();
    assertThat(v.verify(body, FOX.substring(0, FOX.length() - 1))).isFalse();
    assertThat(v.verify(body, "")).isFalse();
    assertThat(v.verify(body, null)).isFalse();
    assertThat(v.verify("the quick".getBytes(StandardCharsets.UTF_8), FOX)).isFalse();
  }

  @Test
  void parsesDeliveriesAndBodies_andRefusesWhatIsNeither() {
    WebhookVerifier.Delivery d = WebhookVerifier.Delivery.parse("104:17-23");
    assertThat(d).isEqualTo(new WebhookVerifier.Delivery(104, 17, 23));
    assertThat(d.isNewerThan(22)).isTrue();
    assertThat(d.isNewerThan(23)).isFalse();
    assertThatThrownBy(() -> WebhookVerifier.Delivery.parse("104-17"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> WebhookVerifier.Delivery.parse(null))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(
            WebhookVerifier.changes(
                "[[\"a\",\"away\"],[\"b\",\"online\"]]".getBytes(StandardCharsets.UTF_8)))
        .containsExactly(
            new WebhookVerifier.Change("a", PresenceStatus.AWAY),
            new WebhookVerifier.Change("b", PresenceStatus.ONLINE));
    assertThatThrownBy(
            () -> WebhookVerifier.changes("[[\"a\",\"asleep\"]]".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(PresenceException.class);
    assertThatThrownBy(() -> WebhookVerifier.changes("{".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(PresenceException.class)
        .extracting(e -> ((PresenceException) e).errno())
        .isEqualTo(10);
  }
}
