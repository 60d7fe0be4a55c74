package org.presence.protocol.push;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.model.PresenceStatus;

class PushStatusCodecTest {
  private static PushStatus decode(String s) {
    ByteBuf b = Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    try {
      return PushStatusCodec.decode(b);
    } finally {
      b.release();
    }
  }

  @Test
  void decode_whenSeedForm_thenReport() {
    assertThat(decode("{\"xpi\": \"8b4a1f6e-5c8d\", \"xps\": \"A\", \"uaid\": {\"x\": 1}}"))
        .isEqualTo(new PushStatus("8b4a1f6e-5c8d", PresenceStatus.AWAY));
  }

  @Test
  void encode_thenDecode_roundTripsEachLetter() {
    for (PresenceStatus s :
        new PresenceStatus[] {
          PresenceStatus.ONLINE, PresenceStatus.AWAY, PresenceStatus.UNAVAILABLE
        }) {
      PushStatus r = new PushStatus("xpi-1", s);
      assertThat(decode(new String(PushStatusCodec.encode(r), StandardCharsets.UTF_8)))
          .isEqualTo(r);
    }
  }

  static Stream<Arguments> bad() {
    return Stream.of(
        Arguments.of("", ErrorCode.MALFORMED_JSON),
        Arguments.of("[1]", ErrorCode.MALFORMED_JSON),
        Arguments.of("{\"xpi\":\"a\"", ErrorCode.MALFORMED_JSON),
        Arguments.of("{\"xpi\":\"a\",\"xps\":\"O\"} {}", ErrorCode.MALFORMED_JSON),
        Arguments.of("{\"xps\":\"O\"}", ErrorCode.MISSING_FIELD),
        Arguments.of("{\"xpi\":\"a\"}", ErrorCode.MISSING_FIELD),
        Arguments.of("{\"xpi\":\"a\",\"xpi\":\"b\",\"xps\":\"O\"}", ErrorCode.DUPLICATE_FIELD),
        Arguments.of("{\"xpi\":1,\"xps\":\"O\"}", ErrorCode.WRONG_FIELD_TYPE),
        Arguments.of("{\"xpi\":\"a b\",\"xps\":\"O\"}", ErrorCode.INVALID_FIELD_VALUE),
        Arguments.of("{\"xpi\":\"a\",\"xps\":\"F\"}", ErrorCode.INVALID_STATUS),
        Arguments.of("{\"xpi\":\"a\",\"xps\":\"online\"}", ErrorCode.INVALID_STATUS),
        Arguments.of("{\"xpi\":\"a\",\"xps\":\"o\"}", ErrorCode.INVALID_STATUS));
  }

  @ParameterizedTest
  @MethodSource("bad")
  void decode_whenBad_thenErrno(String body, ErrorCode code) {
    ProtocolException e = catchThrowableOfType(ProtocolException.class, () -> decode(body));
    assertThat(e).isNotNull();
    assertThat(e.code()).isEqualTo(code);
  }

  @Test
  void decode_whenInvalidUtf8_thenMalformedJson() {
    // "a" C0 AF: an overlong '/' that Jackson alone would decode.
    byte[] body = "{\"xpi\":\"a\u0000\u0000\",\"xps\":\"O\"}".getBytes(StandardCharsets.UTF_8);
    body[9] = (byte) 0xC0;
    body[10] = (byte) 0xAF;
    ByteBuf b = Unpooled.wrappedBuffer(body);
    try {
      ProtocolException e =
          catchThrowableOfType(ProtocolException.class, () -> PushStatusCodec.decode(b));
      assertThat(e).isNotNull();
      assertThat(e.code()).isEqualTo(ErrorCode.MALFORMED_JSON);
      assertThat(e.detail()).isEqualTo("invalid UTF-8 at byte 9");
    } finally {
      b.release();
    }
  }
}
