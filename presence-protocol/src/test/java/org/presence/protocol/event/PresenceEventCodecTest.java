package org.presence.protocol.event;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.model.PresenceStatus;

class PresenceEventCodecTest {
  @Test
  void encode_thenDecode_roundTrips() {
    PresenceEvent e =
        new PresenceEvent(
            421,
            "pU1d",
            PresenceStatus.AWAY,
            "lunch 🍜",
            1_700_000_000_000_001L,
            1_700_000_000_000L);
    assertThat(PresenceEventCodec.decode(PresenceEventCodec.encode(e))).isEqualTo(e);
    PresenceEvent bare = new PresenceEvent(1, "p", PresenceStatus.OFFLINE, null, 5, 6);
    assertThat(PresenceEventCodec.decode(PresenceEventCodec.encode(bare))).isEqualTo(bare);
    PresenceEvent numbered =
        new PresenceEvent(9, "q", PresenceStatus.ONLINE, "hi", 5, 6, 1_700_000_000_000_017L);
    assertThat(PresenceEventCodec.decode(PresenceEventCodec.encode(numbered))).isEqualTo(numbered);
  }

  @Test
  void encode_withSeq_addsIt() {
    PresenceEvent e = new PresenceEvent(421, "pU1d", PresenceStatus.ONLINE, null, 7, 8, 17);
    assertThat(new String(PresenceEventCodec.encode(e), StandardCharsets.UTF_8))
        .endsWith(",\"at\":8,\"seq\":17}");
  }

  @Test
  void encode_isTheDocumentedShape() {
    PresenceEvent e = new PresenceEvent(421, "pU1d", PresenceStatus.ONLINE, null, 7, 8);
    assertThat(new String(PresenceEventCodec.encode(e), StandardCharsets.UTF_8))
        .isEqualTo(
            "{\"type\":\"presence\",\"app_id\":421,\"puid\":\"pU1d\",\"status\":\"online\","
                + "\"version\":7,\"at\":8}");
  }

  @Test
  void decode_whenIncompleteOrGarbage_thenProtocolException() {
    assertThatThrownBy(
            () ->
                PresenceEventCodec.decode(
                    "{\"type\":\"presence\"}".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(ProtocolException.class);
    assertThatThrownBy(() -> PresenceEventCodec.decode("{{".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(ProtocolException.class);
  }
}
