package org.presence.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class WebhookVerifierTest {
  private static final String FOX_BODY = "The quick brown fox jumps over the lazy dog";

  // HMAC-SHA256 with key "key" of "104:17-23\n" and the body, computed with Python's hmac module.
  private static final String FOX =
      "sha256=50168f4706a75ce87f44d8c30197dd8a8c04f59dd47ce3ddabc9761f783cde40";

  // The same for a test call (no delivery id): "\n" and the body.
  private static final String FOX_TEST_CALL =
      "sha256=55a15032c1db39e6160627313073a744905945005ddb0a1f0ab92dde6a21a8e0";

  // The same for a snapshot's last part: "104:0-23\npart=2; last\n" and the body.
  private static final String FOX_PART =
      "sha256=3ee57241fcc215a59e750bdaba5c1d362d9ef569b5b9978469db35068354e061";

  @Test
  void aSnapshotsPartSignature_verifiesOnlyUnderItsOwnPartHeader() {
    WebhookVerifier v = new WebhookVerifier("key");
    byte[] body = FOX_BODY.getBytes(StandardCharsets.UTF_8);
    assertThat(v.verifySnapshotPart(body, FOX_PART, "104:0-23", "part=2; last")).isTrue();
    assertThat(v.verifySnapshotPart(body, " " + FOX_PART, "104:0-23", " part=2; last ")).isTrue();
    // Sent again as another part, or with the part header taken off.
    assertThat(v.verifySnapshotPart(body, FOX_PART, "104:0-23", "part=2")).isFalse();
    assertThat(v.verifySnapshotPart(body, FOX_PART, "104:0-23", "part=1; last")).isFalse();
    assertThat(v.verifySnapshotPart(body, FOX_PART, "104:0-23", null)).isFalse();
    assertThat(v.verifySnapshotPart(body, null, "104:0-23", "part=2; last")).isFalse();
    // The call's own signature covers no part: a part's signature is not one.
    assertThat(v.verify(body, FOX_PART, "104:0-23")).isFalse();
  }

  @Test
  void verifiesTheHexHmacOfTheDeliveryIdAndTheExactBytes() {
    WebhookVerifier v = new WebhookVerifier("key");
    byte[] body = FOX_BODY.getBytes(StandardCharsets.UTF_8);
    assertThat(v.verify(body, FOX, "104:17-23")).isTrue();
    assertThat(v.verify(body, " " + FOX + " ", " 104:17-23")).isTrue();
    assertThat(v.verify(body, FOX.toUpperCase(java.util.Locale.ROOT), "104:17-23")).isFalse();
    assertThat(v.verify(body, FOX.substring(0, FOX.length() - 1), "104:17-23")).isFalse();
    assertThat(v.verify(body, "", "104:17-23")).isFalse();
    assertThat(v.verify(body, null, "104:17-23")).isFalse();
    assertThat(v.verify("the quick".getBytes(StandardCharsets.UTF_8), FOX, "104:17-23")).isFalse();
    assertThat(v.verify(body, FOX_TEST_CALL, null)).isTrue();
    assertThat(v.verify(body, FOX_TEST_CALL, "")).isTrue();
  }

  @Test
  void anOldBodyUnderANewerDeliveryId_isRefused() {
    WebhookVerifier v = new WebhookVerifier("key");
    byte[] body = FOX_BODY.getBytes(StandardCharsets.UTF_8);
    // A replay with a forged id that would move the receiver's cursor past calls still to come.
    assertThat(v.verify(body, FOX, "104:9000000000000000000-9000000000000000001")).isFalse();
    // The call's body without its delivery id, as if it were a test call.
    assertThat(v.verify(body, FOX, null)).isFalse();
  }

  @Test
  void parsesDeliveriesAndBodies_andRefusesWhatIsNeither() {
    WebhookVerifier.Delivery d = WebhookVerifier.Delivery.parse("104:17-23");
    assertThat(d).isEqualTo(new WebhookVerifier.Delivery(104, 17, 23));
    assertThat(d.isNewerThan(22)).isTrue();
    assertThat(d.isNewerThan(23)).isFalse();
    assertThat(d.isSnapshot()).isFalse();
    assertThat(WebhookVerifier.Delivery.parse("104:0-23").isSnapshot()).isTrue();
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

  @Test
  void parsesSnapshotParts_anAbsentHeaderBeingTheWholeSnapshot() {
    assertThat(WebhookVerifier.SnapshotPart.parse("part=1"))
        .isEqualTo(new WebhookVerifier.SnapshotPart(1, false));
    assertThat(WebhookVerifier.SnapshotPart.parse(" part=12 ;  last "))
        .isEqualTo(new WebhookVerifier.SnapshotPart(12, true));
    assertThat(WebhookVerifier.SnapshotPart.parse(null))
        .isEqualTo(new WebhookVerifier.SnapshotPart(1, true));
    for (String bad :
        List.of(
            "part=0", "part=-1", "part=+2", "last", "part=2; lastly", "part=2; last; last", "")) {
      assertThatThrownBy(() -> WebhookVerifier.SnapshotPart.parse(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }
}
