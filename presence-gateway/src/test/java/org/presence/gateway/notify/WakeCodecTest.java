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

  private static final Notification N =
      new Notification(
          "id1",
          7,
          "pA",
          "Chat",
          "hi",
          "",
          Instant.ofEpochMilli(1000),
          Instant.ofEpochMilli(2000),
          true);
  private static final UUID S = UUID.fromString("0f8fad5b-d9cb-469f-a165-70867728950e");

  @Test
  void encode_writesTheQueueFormatPerItem_withTheKeysOlderNodesRead() {
    assertThat(
            new String(
                WakeCodec.encode(List.of(new WakeCodec.Delivery("dev:a", List.of(S), List.of(N)))),
                StandardCharsets.UTF_8))
        .isEqualTo(
            "{\"d\":[{\"u\":\"dev:a\",\"s\":[\"0f8fad5b-d9cb-469f-a165-70867728950e\"],"
                + "\"n\":[{\"i\":\"id1\",\"a\":7,\"u\":\"pA\",\"s\":\"Chat\",\"m\":\"hi\","
                + "\"x\":\"\",\"c\":1000,\"e\":2000,\"r\":true,\"p\":\"pA\",\"o\":\"Chat\"}]}]}");
  }

  @Test
  void parts_putTogetherAsTheStoreDoes_areWhatEncodeWrites() throws IOException {
    Notification odd =
        new Notification(
            "id2",
            8,
            "pB",
            "Q \"\\ é",
            "line\n\"two\" 🍺",
            "",
            Instant.ofEpochMilli(3000),
            Instant.ofEpochMilli(4000),
            false);
    UUID s2 = UUID.fromString("7c9e6679-7425-40de-944b-e07fc1f90ae7");
    List<WakeCodec.Delivery> ds =
        List.of(
            new WakeCodec.Delivery("dev:a", List.of(S, s2), List.of(N, odd)),
            new WakeCodec.Delivery("dev:\"b\" {u:x}", List.of(s2), List.of(odd)),
            // Read the queue from its head ("h": true).
            new WakeCodec.Delivery("dev:c", List.of(S), List.of(), true));
    java.io.ByteArrayOutputStream m = new java.io.ByteArrayOutputStream();
    m.writeBytes(WakeCodec.OPEN);
    for (int i = 0; i < ds.size(); i++) {
      WakeCodec.Delivery d = ds.get(i);
      byte[][] parts = WakeCodec.parts(d.user(), d.items(), d.head());
      if (i > 0) {
        m.write(',');
      }
      m.writeBytes(parts[0]);
      m.writeBytes(
          d.sessions().stream()
              .map(x -> "\"" + x + "\"")
              .collect(java.util.stream.Collectors.joining(","))
              .getBytes(StandardCharsets.UTF_8));
      m.writeBytes(parts[1]);
    }
    m.writeBytes(WakeCodec.CLOSE);
    assertThat(new String(m.toByteArray(), StandardCharsets.UTF_8))
        .isEqualTo(new String(WakeCodec.encode(ds), StandardCharsets.UTF_8));
    assertThat(WakeCodec.decode(m.toByteArray())).isEqualTo(ds);
  }

  @Test
  void decode_readsAWakeUpOfAnOlderNode() throws IOException {
    String old =
        "{\"d\":[{\"u\":\"dev:a\",\"s\":[\"0f8fad5b-d9cb-469f-a165-70867728950e\"],"
            + "\"n\":[{\"i\":\"id1\",\"a\":7,\"p\":\"pA\",\"o\":\"Chat\",\"m\":\"hi\","
            + "\"x\":\"\",\"c\":1000,\"e\":2000,\"r\":true}]}]}";
    assertThat(WakeCodec.decode(old.getBytes(StandardCharsets.UTF_8)))
        .containsExactly(new WakeCodec.Delivery("dev:a", List.of(S), List.of(N)));
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
