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

  @Test
  void decode_skipsUnknownFields_andDefaultsMissingOnes() {
    byte[] stored = "id2 {\"z\":[1,{}],\"a\":3}".getBytes(StandardCharsets.UTF_8);
    assertThat(NotificationCodec.decode(stored))
        .isEqualTo(new Notification("id2", 3, "", "", "", "", Instant.EPOCH, Instant.EPOCH, false));
  }
}
