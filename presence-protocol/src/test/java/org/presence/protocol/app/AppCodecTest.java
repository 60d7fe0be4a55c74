package org.presence.protocol.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.presence.protocol.app.AppFrames.KeyFrame;
import org.presence.protocol.app.AppFrames.Receipt;
import org.presence.protocol.app.AppFrames.SnapshotEntry;
import org.presence.protocol.app.AppFrames.Update;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.model.PresenceStatus;

class AppCodecTest {
  private static KeyFrame key(String json) {
    ByteBuf b = Unpooled.copiedBuffer(json, StandardCharsets.UTF_8);
    try {
      return AppCodec.decodeKey(b);
    } finally {
      b.release();
    }
  }

  private static String written(Consumer<ByteBuf> w) {
    ByteBuf b = Unpooled.buffer();
    try {
      w.accept(b);
      return b.toString(StandardCharsets.UTF_8);
    } finally {
      b.release();
    }
  }

  @Test
  void decodeKey_whenKeyAndSince_thenBoth_andUnknownFieldsSkipped() {
    assertThat(key("{\"key\":\"k1\"}")).isEqualTo(new KeyFrame("k1", -1));
    assertThat(key("{\"key\":\"k1\",\"since\":17,\"extra\":{\"a\":[1]}}"))
        .isEqualTo(new KeyFrame("k1", 17));
    assertThat(key("{\"since\":null,\"key\":\"k\"}").resumes()).isFalse();
    assertThat(key("{\"key\":\"k\",\"since\":9007199254740991}").since())
        .isEqualTo(AppCodec.MAX_SINCE);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(
      delimiter = '|',
      value = {
        "'' | MALFORMED_JSON",
        "[] | MALFORMED_JSON",
        "{\"key\":\"k\" | MALFORMED_JSON",
        "{\"key\":\"k\"} {} | MALFORMED_JSON",
        "{} | MISSING_FIELD",
        "{\"since\":3} | MISSING_FIELD",
        "{\"key\":42} | WRONG_FIELD_TYPE",
        "{\"key\":\"k\",\"since\":-1} | INVALID_SINCE",
        "{\"key\":\"k\",\"since\":\"17\"} | INVALID_SINCE",
        "{\"key\":\"k\",\"since\":1.5} | INVALID_SINCE",
        "{\"key\":\"k\",\"since\":9007199254740992} | INVALID_SINCE",
        "{\"key\":\"k\",\"since\":123456789012345678901234} | INVALID_SINCE",
        "{\"key\":\"k\",\"since\":[1]} | INVALID_SINCE",
        "{\"key\":\"a\",\"key\":\"b\"} | DUPLICATE_FIELD",
      })
  void decodeKey_whenMalformed_thenDocumentedErrno(String json, ErrorCode code) {
    assertThatThrownBy(() -> key(json))
        .isInstanceOf(ProtocolException.class)
        .extracting(e -> ((ProtocolException) e).code())
        .isEqualTo(code);
  }

  @Test
  void decodeKey_whenNotJsonOrAFieldTwice_thenReasonInPlainWords() {
    assertThat(catchThrowableOfType(ProtocolException.class, () -> key("{\"key\":\"k\"")).reason())
        .isEqualTo("Malformed JSON: not JSON: unexpected end at byte 10");
    assertThat(
            catchThrowableOfType(
                    ProtocolException.class, () -> key("{\"key\":\"a\",\"key\":\"b\"}"))
                .reason())
        .isEqualTo("Duplicate field: key");
  }

  @Test
  void decodeKey_whenOverlongKey_thenInvalidApiKey() {
    String k = "a".repeat(AppCodec.MAX_KEY_LENGTH + 1);
    assertThatThrownBy(() -> key("{\"key\":\"" + k + "\"}"))
        .extracting(e -> ((ProtocolException) e).code())
        .isEqualTo(ErrorCode.INVALID_API_KEY);
  }

  @Test
  void parseSince_acceptsDigitsOnly() {
    assertThat(AppCodec.parseSince("0")).isZero();
    assertThat(AppCodec.parseSince("1700000000000017")).isEqualTo(1700000000000017L);
    for (String bad :
        new String[] {"", "-1", "1e3", " 1", "9007199254740992", "abc", "99999999999999999999"}) {
      assertThatThrownBy(() -> AppCodec.parseSince(bad))
          .as(bad)
          .extracting(e -> ((ProtocolException) e).code())
          .isEqualTo(ErrorCode.INVALID_SINCE);
    }
  }

  @Test
  void writeUpdates_isTheWikisListWithMessageAndSeq() {
    assertThat(
            written(
                b ->
                    AppCodec.writeUpdates(
                        List.of(
                            new Update("pA", PresenceStatus.ONLINE, "", 17),
                            new Update("pB", PresenceStatus.AWAY, "lunch \"out\"", 18)),
                        b)))
        .isEqualTo(
            "[{\"UID\":\"pA\",\"status\":\"online\",\"seq\":17},"
                + "{\"UID\":\"pB\",\"status\":\"away\",\"message\":\"lunch \\\"out\\\"\",\"seq\":18}]");
  }

  @Test
  void writeSnapshot_isAnObjectAUpdateListCannotBeMistakenFor() {
    assertThat(
            written(
                b ->
                    AppCodec.writeSnapshot(
                        List.of(new SnapshotEntry("pA", PresenceStatus.UNAVAILABLE, "")),
                        16,
                        true,
                        true,
                        b)))
        .isEqualTo(
            "{\"snapshot\":[{\"UID\":\"pA\",\"status\":\"unavailable\"}],\"seq\":16,\"fresh\":true,\"done\":true}");
    assertThat(written(b -> AppCodec.writeSnapshot(List.of(), 3, false, false, b)))
        .isEqualTo("{\"snapshot\":[],\"seq\":3,\"fresh\":false,\"done\":false}");
  }

  @Test
  void writeResult_andReceipts() {
    assertThat(written(AppCodec::writeResult)).isEqualTo("{\"result\":true}");
    assertThat(
            written(b -> AppCodec.writeReceipts(List.of(new Receipt("n1", "pA", "acted", 5)), b)))
        .isEqualTo("{\"receipts\":[{\"id\":\"n1\",\"UID\":\"pA\",\"state\":\"acted\",\"at\":5}]}");
  }

  @Test
  void encodeReceipt_writesTheBytesTheUpdateChannelReads_andRoundTrips() {
    Receipt r = new Receipt("n1", "p\"A", "delivered", 1700000000000L);
    assertThat(new String(AppCodec.encodeReceipt(r), StandardCharsets.UTF_8))
        .isEqualTo(
            "{\"id\":\"n1\",\"UID\":\"p\\\"A\",\"state\":\"delivered\",\"at\":1700000000000}");
    assertThat(AppCodec.decodeReceipt(AppCodec.encodeReceipt(r))).isEqualTo(r);
  }

  @Test
  void decodeReceipt_keepsTheKnownFields_andRefusesIncompleteOnes() {
    byte[] ok =
        "{\"id\":\"n1\",\"UID\":\"pA\",\"state\":\"missed\",\"at\":1700000000000,\"user\":\"secret\"}"
            .getBytes(StandardCharsets.UTF_8);
    assertThat(AppCodec.decodeReceipt(ok))
        .isEqualTo(new Receipt("n1", "pA", "missed", 1700000000000L));
    for (String bad :
        new String[] {
          "{\"id\":\"n1\",\"UID\":\"pA\",\"state\":\"read\",\"at\":1}",
          "{\"id\":\"n1\",\"state\":\"acted\",\"at\":1}",
          "{\"id\":\"n1\",\"UID\":\"pA\",\"state\":\"acted\"}",
          "nope",
          "[]"
        }) {
      assertThatThrownBy(() -> AppCodec.decodeReceipt(bad.getBytes(StandardCharsets.UTF_8)))
          .as(bad)
          .isInstanceOf(ProtocolException.class);
    }
  }

  @Test
  void decodeKey_whenInvalidUtf8_thenMalformedJson() {
    // An overlong '<' inside the key: Jackson alone would read "k<".
    byte[] frame = {
      '{', '"', 'k', 'e', 'y', '"', ':', '"', 'k', (byte) 0xC0, (byte) 0xBC, '"', '}'
    };
    ByteBuf b = Unpooled.wrappedBuffer(frame);
    try {
      assertThatThrownBy(() -> AppCodec.decodeKey(b))
          .isInstanceOfSatisfying(
              ProtocolException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.MALFORMED_JSON));
    } finally {
      b.release();
    }
  }
}
