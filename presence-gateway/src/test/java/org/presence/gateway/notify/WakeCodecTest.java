package org.presence.gateway.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.presence.store.queue.Notification;

/** The wake-ups nodes send each other over the bus. */
class WakeCodecTest {
  @Test
  void encode_thenDecode_roundTripsEveryField() throws IOException {
    Notification n =
        new Notification(
            "Yq3kP0c2TnW8x1bLm9sRfA",
            421,
            "q1Yc0XGmYHnX3Gc6Xv7R8Tz0aBcDeFgHiJkLmNoPqRs",
            "Beer <Chat>",
            "héllo \"x\" \n 🍺",
            "app://a.example/?q=1&r=2",
            Instant.ofEpochMilli(1_700_000_000_000L),
            Instant.ofEpochMilli(1_700_000_060_000L),
            true);
    List<WakeCodec.Delivery> ds =
        List.of(
            new WakeCodec.Delivery(
                "dev:a@example.com", List.of(UUID.randomUUID(), UUID.randomUUID()), List.of(n, n)),
            new WakeCodec.Delivery("dev:b@example.com", List.of(), List.of()));
    assertThat(WakeCodec.decode(WakeCodec.encode(ds))).isEqualTo(ds);
  }

  @Test
  void decode_whenNotAWakeUp_thenIOException() {
    for (String bad :
        List.of(
            "[]", "{\"d\":5}", "{\"d\":[{\"s\":[]}]}", "{\"d\":[{\"u\":\"x\",\"n\":[{}]}]}", "{")) {
      assertThatThrownBy(() -> WakeCodec.decode(bad.getBytes(StandardCharsets.UTF_8)))
          .as(bad)
          .isInstanceOf(IOException.class);
    }
  }
}
