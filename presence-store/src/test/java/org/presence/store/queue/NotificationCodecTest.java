package org.presence.store.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The stored notification format, which the gateway's wake-ups share. */
class NotificationCodecTest {
  private static final Notification N =
      new Notification(
          "id1",
          7,
          "pA",
          "Chat \"x\"",
          "héllo",
          "app://a",
          Instant.ofEpochMilli(1000),
          Instant.ofEpochMilli(2000),
          true);

  @Test
  void encode_writesTheStoredBytes_andDecodeReadsThemBack() {
    byte[] stored = NotificationCodec.encode(N);
    assertThat(new String(stored, StandardCharsets.UTF_8))
        .isEqualTo(
            "id1 {\"a\":7,\"u\":\"pA\",\"s\":\"Chat \\\"x\\\"\",\"m\":\"héllo\",\"x\":\"app://a\","
                + "\"c\":1000,\"e\":2000,\"r\":true}");
    assertThat(NotificationCodec.decode(stored)).isEqualTo(N);
  }

  /** Probe s33 F3: an emoji was stored as two {@code \\uXXXX} escapes, 12 bytes instead of 4. */
  @Test
  void emoji_areStoredAsRawUtf8_aThirdOfTheEscapedSize() {
    String emoji = "\uD83D\uDE00".repeat(512);
    Notification n = message("id3", emoji);
    byte[] stored = NotificationCodec.encode(n);
    String text = new String(stored, StandardCharsets.UTF_8);
    assertThat(text).doesNotContain("\\u").contains(emoji);
    // The id, the other fields (76 bytes), and 4 bytes per emoji: 2,128 bytes, not 6,224.
    assertThat(stored).hasSize(76 + 4 * 512);
    assertThat(NotificationCodec.decode(stored)).isEqualTo(n);
  }

  /** Items queued before the change, with the message's emoji escaped, still read back exactly. */
  @Test
  void itemsStoredInTheOldEscapedForm_readBackTheSame() {
    String escaped = "\\ud83d\\ude00".repeat(3) + " caf\\u00e9 \\u4e2d";
    byte[] old =
        ("id4 {\"a\":7,\"u\":\"pA\",\"s\":\"S\",\"m\":\""
                + escaped
                + "\",\"x\":\"app://a\",\"c\":1000,\"e\":2000,\"r\":true}")
            .getBytes(StandardCharsets.UTF_8);
    assertThat(NotificationCodec.decode(old))
        .isEqualTo(message("id4", "\uD83D\uDE00".repeat(3) + " café 中"));
  }

  private static Notification message(String id, String message) {
    return new Notification(
        id,
        7,
        "pA",
        "S",
        message,
        "app://a",
        Instant.ofEpochMilli(1000),
        Instant.ofEpochMilli(2000),
        true);
  }

  @Test
  void decode_skipsUnknownFields_andDefaultsMissingOnes() {
    byte[] stored = "id2 {\"z\":[1,{}],\"a\":3}".getBytes(StandardCharsets.UTF_8);
    assertThat(NotificationCodec.decode(stored))
        .isEqualTo(new Notification("id2", 3, "", "", "", "", Instant.EPOCH, Instant.EPOCH, false));
  }
}
