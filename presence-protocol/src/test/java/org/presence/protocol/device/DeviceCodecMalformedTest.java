package org.presence.protocol.device;

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

/** Every way a device frame can be wrong, with the errno (and detail) it is answered with. */
class DeviceCodecMalformedTest {
  private static final String S = DeviceFixtures.SESSION.toString();
  private static final DeviceCodec CODEC = new DeviceCodec(new DeviceCodec.Limits(512, 3, 10));

  private static Arguments row(String frame, ErrorCode code, String detail) {
    return Arguments.of(frame, code, detail);
  }

  static Stream<Arguments> table() {
    return Stream.of(
        // Not one well-formed JSON object.
        row("", ErrorCode.MALFORMED_JSON, "empty frame"),
        row("   ", ErrorCode.MALFORMED_JSON, "empty frame"),
        row("[]", ErrorCode.MALFORMED_JSON, "expected a JSON object"),
        row("\"connect\"", ErrorCode.MALFORMED_JSON, "expected a JSON object"),
        row("42", ErrorCode.MALFORMED_JSON, "expected a JSON object"),
        row("null", ErrorCode.MALFORMED_JSON, "expected a JSON object"),
        row("{", ErrorCode.MALFORMED_JSON, null),
        row("{\"type\":\"connect\",\"assertion\":\"a\"", ErrorCode.MALFORMED_JSON, null),
        // A frame that ends inside an id array is truncated, even after a bad element.
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\",\"application_ids\":[1,",
            ErrorCode.MALFORMED_JSON,
            "truncated frame"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\",\"application_ids\":[0,",
            ErrorCode.MALFORMED_JSON,
            "truncated frame"),
        row("{\"type\":\"ack\",\"ids\":[\"n1\",", ErrorCode.MALFORMED_JSON, "truncated frame"),
        row("{\"type\":\"ack\",\"ids\":[2,", ErrorCode.MALFORMED_JSON, "truncated frame"),
        row(
            "{\"type\":\"connect\",,}",
            ErrorCode.MALFORMED_JSON,
            "not JSON: unexpected character at byte 18"),
        row(
            "{'type':'connect'}",
            ErrorCode.MALFORMED_JSON,
            "not JSON: unexpected character at byte 1"),
        row(
            "{\"type\":connect}",
            ErrorCode.MALFORMED_JSON,
            "not JSON: unexpected character at byte 8"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\"}{}",
            ErrorCode.MALFORMED_JSON,
            "trailing content after the object"),
        row("{\"type\":\"connect\",\"assertion\":\"a\"} x", ErrorCode.MALFORMED_JSON, null),
        row(
            "{\"a\":" + "[".repeat(40) + "]".repeat(40) + "}",
            ErrorCode.MALFORMED_JSON,
            "nested deeper than 16"),
        row("{\"a\":1" + "0".repeat(40) + "}", ErrorCode.MALFORMED_JSON, "number too long"),
        row("{\"a\":NaN}", ErrorCode.MALFORMED_JSON, "not JSON: invalid number at byte 8"),
        row(
            "{\"type\":\"status\u0001\"}",
            ErrorCode.MALFORMED_JSON,
            "not JSON: control character in a string at byte 15"),
        row(
            "\uFEFF{\"type\":\"connect\"}",
            ErrorCode.MALFORMED_JSON,
            "not JSON: byte order mark at byte 0"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"" + "a".repeat(600) + "\"}",
            ErrorCode.FRAME_TOO_LARGE,
            "limit is 512"),
        // Duplicates, whatever the values.
        row(
            "{\"type\":\"connect\",\"type\":\"connect\",\"assertion\":\"a\"}",
            ErrorCode.DUPLICATE_FIELD,
            "type"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\",\"device\":null,\"device\":\"d\"}",
            ErrorCode.DUPLICATE_FIELD,
            "device"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\",\"x\":1,\"x\":{}}",
            ErrorCode.DUPLICATE_FIELD,
            "x"),
        row("{\"type\":7,\"type\":\"connect\"}", ErrorCode.DUPLICATE_FIELD, "type"),
        // The type.
        row("{}", ErrorCode.MISSING_FIELD, "type"),
        row("{\"assertion\":\"a\"}", ErrorCode.MISSING_FIELD, "type"),
        row("{\"type\":null,\"assertion\":\"a\"}", ErrorCode.MISSING_FIELD, "type"),
        row("{\"type\":1}", ErrorCode.WRONG_FIELD_TYPE, "type"),
        row("{\"type\":[\"connect\"]}", ErrorCode.WRONG_FIELD_TYPE, "type"),
        row("{\"type\":{\"connect\":1}}", ErrorCode.WRONG_FIELD_TYPE, "type"),
        row("{\"type\":\"hello\"}", ErrorCode.UNKNOWN_TYPE, null),
        row("{\"type\":\"CONNECT\",\"assertion\":\"a\"}", ErrorCode.UNKNOWN_TYPE, null),
        row("{\"type\":\"hello\",\"status\":5}", ErrorCode.UNKNOWN_TYPE, null),
        // Connect fields.
        row("{\"type\":\"connect\"}", ErrorCode.MISSING_FIELD, "assertion"),
        row("{\"type\":\"connect\",\"assertion\":null}", ErrorCode.MISSING_FIELD, "assertion"),
        row("{\"type\":\"connect\",\"assertion\":1}", ErrorCode.WRONG_FIELD_TYPE, "assertion"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\",\"application_ids\":421}",
            ErrorCode.WRONG_FIELD_TYPE,
            "application_ids"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\",\"application_ids\":{\"a\":1}}",
            ErrorCode.WRONG_FIELD_TYPE,
            "application_ids"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\",\"application_ids\":[\"421\"]}",
            ErrorCode.WRONG_FIELD_TYPE,
            "application_ids"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\",\"application_ids\":[[1]]}",
            ErrorCode.WRONG_FIELD_TYPE,
            "application_ids"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\",\"application_ids\":[1,null]}",
            ErrorCode.WRONG_FIELD_TYPE,
            "application_ids"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\",\"application_ids\":[0]}",
            ErrorCode.INVALID_APPLICATION_ID,
            "must be a positive integer"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\",\"application_ids\":[-4]}",
            ErrorCode.INVALID_APPLICATION_ID,
            "must be a positive integer"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\",\"application_ids\":[1.5]}",
            ErrorCode.INVALID_APPLICATION_ID,
            "must be a positive integer"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\",\"application_ids\":[1e3]}",
            ErrorCode.INVALID_APPLICATION_ID,
            "must be a positive integer"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\",\"application_ids\":[99999999999999999999]}",
            ErrorCode.INVALID_APPLICATION_ID,
            "must be a positive integer"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\",\"application_ids\":[1,2,3,4]}",
            ErrorCode.TOO_MANY_APPLICATION_IDS,
            "limit is 3"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\",\"device\":\"\"}",
            ErrorCode.INVALID_FIELD_VALUE,
            "device: 1-64 of A-Z a-z 0-9 . _ : -"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\",\"device\":\"a b\"}",
            ErrorCode.INVALID_FIELD_VALUE,
            "device: 1-64 of A-Z a-z 0-9 . _ : -"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\",\"device\":\"" + "d".repeat(65) + "\"}",
            ErrorCode.INVALID_FIELD_VALUE,
            "device: 1-64 of A-Z a-z 0-9 . _ : -"),
        row(
            "{\"type\":\"connect\",\"assertion\":\"a\",\"device\":true}",
            ErrorCode.WRONG_FIELD_TYPE,
            "device"),
        // The first bad field in document order wins; fields of other types are ignored.
        row(
            "{\"device\":7,\"application_ids\":[0],\"type\":\"connect\",\"assertion\":\"a\"}",
            ErrorCode.WRONG_FIELD_TYPE,
            "device"),
        row(
            "{\"application_ids\":[0],\"device\":7,\"type\":\"connect\",\"assertion\":\"a\"}",
            ErrorCode.INVALID_APPLICATION_ID,
            "must be a positive integer"),
        row(
            "{\"type\":\"connect\",\"status\":5,\"device\":\"?\"}",
            ErrorCode.INVALID_FIELD_VALUE,
            null),
        // Status fields.
        row("{\"type\":\"status\",\"status\":\"online\"}", ErrorCode.MISSING_FIELD, "session_id"),
        row(
            "{\"type\":\"status\",\"session_id\":\"" + S + "\"}",
            ErrorCode.MISSING_FIELD,
            "status"),
        row(
            "{\"type\":\"status\",\"session_id\":\"nope\",\"status\":\"online\"}",
            ErrorCode.UNKNOWN_SESSION,
            "not a session id"),
        row(
            "{\"type\":\"status\",\"session_id\":\""
                + S.replace('-', 'x')
                + "\",\"status\":\"online\"}",
            ErrorCode.UNKNOWN_SESSION,
            "not a session id"),
        row(
            "{\"type\":\"status\",\"session_id\":42,\"status\":\"online\"}",
            ErrorCode.WRONG_FIELD_TYPE,
            "session_id"),
        row(
            "{\"type\":\"status\",\"session_id\":\"" + S + "\",\"status\":\"busy\"}",
            ErrorCode.INVALID_STATUS,
            null),
        row(
            "{\"type\":\"status\",\"session_id\":\"" + S + "\",\"status\":\"Online\"}",
            ErrorCode.INVALID_STATUS,
            null),
        row(
            "{\"type\":\"status\",\"session_id\":\"" + S + "\",\"status\":\"O\"}",
            ErrorCode.INVALID_STATUS,
            null),
        row(
            "{\"type\":\"status\",\"session_id\":\"" + S + "\",\"status\":true}",
            ErrorCode.WRONG_FIELD_TYPE,
            "status"),
        row(
            "{\"type\":\"status\",\"session_id\":\""
                + S
                + "\",\"status\":\"away\",\"message\":\"12345678901\"}",
            ErrorCode.MESSAGE_TOO_LONG,
            "limit is 10"),
        // A message is one line of visible text (ShownText), however the JSON spells it.
        row(
            "{\"type\":\"status\",\"session_id\":\""
                + S
                + "\",\"status\":\"away\",\"message\":\"ring\\u0007\"}",
            ErrorCode.INVALID_FIELD_VALUE,
            "message: control character U+0007"),
        row(
            "{\"type\":\"status\",\"session_id\":\""
                + S
                + "\",\"status\":\"away\",\"message\":\"two\\nlines\"}",
            ErrorCode.INVALID_FIELD_VALUE,
            "message: control character U+000A"),
        row(
            "{\"type\":\"status\",\"session_id\":\""
                + S
                + "\",\"status\":\"away\",\"message\":\"back \u202Enoos\"}",
            ErrorCode.INVALID_FIELD_VALUE,
            "message: invisible format character U+202E"),
        row(
            "{\"type\":\"status\",\"session_id\":\""
                + S
                + "\",\"status\":\"away\",\"message\":\"a \\ud83d b\"}",
            ErrorCode.INVALID_FIELD_VALUE,
            "message: unpaired surrogate U+D83D"),
        row(
            "{\"type\":\"status\",\"session_id\":\""
                + S
                + "\",\"status\":\"away\",\"message\":[\"x\"]}",
            ErrorCode.WRONG_FIELD_TYPE,
            "message"),
        row(
            "{\"type\":\"status\",\"session_id\":\""
                + S
                + "\",\"status\":\"away\",\"application_ids\":[1,2,3,4,5]}",
            ErrorCode.TOO_MANY_APPLICATION_IDS,
            "limit is 3"),
        // Push registration.
        row(
            "{\"type\":\"register_push\",\"session_id\":\"" + S + "\"}",
            ErrorCode.MISSING_FIELD,
            "xpi"),
        row(
            "{\"type\":\"register_push\",\"session_id\":\"" + S + "\",\"xpi\":\"a/b\"}",
            ErrorCode.INVALID_FIELD_VALUE,
            "xpi: 1-128 of A-Z a-z 0-9 . _ : -"),
        row(
            "{\"type\":\"register_push\",\"session_id\":\"" + S + "\",\"xpi\":5}",
            ErrorCode.WRONG_FIELD_TYPE,
            "xpi"),
        // Acknowledge and dismiss.
        row("{\"type\":\"acknowledge\",\"ids\":[\"a\"]}", ErrorCode.MISSING_FIELD, "session_id"),
        row("{\"type\":\"dismiss\",\"session_id\":\"" + S + "\"}", ErrorCode.MISSING_FIELD, "ids"),
        row(
            "{\"type\":\"dismiss\",\"session_id\":\"" + S + "\",\"ids\":null}",
            ErrorCode.MISSING_FIELD,
            "ids"),
        row(
            "{\"type\":\"dismiss\",\"session_id\":\"" + S + "\",\"ids\":\"a\"}",
            ErrorCode.WRONG_FIELD_TYPE,
            "ids"),
        row(
            "{\"type\":\"dismiss\",\"session_id\":\"" + S + "\",\"ids\":{\"a\":1}}",
            ErrorCode.WRONG_FIELD_TYPE,
            "ids"),
        row(
            "{\"type\":\"dismiss\",\"session_id\":\"" + S + "\",\"ids\":[1]}",
            ErrorCode.WRONG_FIELD_TYPE,
            "ids"),
        row(
            "{\"type\":\"dismiss\",\"session_id\":\"" + S + "\",\"ids\":[[\"a\"]]}",
            ErrorCode.WRONG_FIELD_TYPE,
            "ids"),
        row(
            "{\"type\":\"acknowledge\",\"session_id\":\"" + S + "\",\"ids\":[]}",
            ErrorCode.INVALID_FIELD_VALUE,
            "ids: 1-100 notification ids"),
        row(
            "{\"type\":\"acknowledge\",\"session_id\":\"" + S + "\",\"ids\":[\"\"]}",
            ErrorCode.INVALID_FIELD_VALUE,
            "ids: 1-100 notification ids"),
        row(
            "{\"type\":\"acknowledge\",\"session_id\":\"" + S + "\",\"ids\":[\"a b\"]}",
            ErrorCode.INVALID_FIELD_VALUE,
            "ids: 1-100 notification ids"),
        row(
            "{\"type\":\"acknowledge\",\"session_id\":\"" + S + "\",\"ids\":[\"<x>\"]}",
            ErrorCode.INVALID_FIELD_VALUE,
            "ids: 1-100 notification ids"),
        row(
            "{\"type\":\"acknowledge\",\"session_id\":\""
                + S
                + "\",\"ids\":[\""
                + "i".repeat(65)
                + "\"]}",
            ErrorCode.INVALID_FIELD_VALUE,
            "ids: 1-100 notification ids"),
        row(
            "{\"type\":\"acknowledge\",\"session_id\":\"nope\",\"ids\":[\"a\"]}",
            ErrorCode.UNKNOWN_SESSION,
            "not a session id"),
        row(
            "{\"type\":\"acknowledge\",\"session_id\":\""
                + S
                + "\",\"ids\":[\"a\"],\"ids\":[\"b\"]}",
            ErrorCode.DUPLICATE_FIELD,
            "ids"));
  }

  @org.junit.jupiter.api.Test
  void decode_whenMoreThanHundredIds_thenInvalidFieldValue() {
    DeviceCodec wide = new DeviceCodec(new DeviceCodec.Limits(8192, 3, 10));
    StringBuilder ids = new StringBuilder();
    for (int i = 0; i < 101; i++) {
      ids.append(i == 0 ? "" : ",").append("\"n").append(i).append('"');
    }
    String frame = "{\"type\":\"dismiss\",\"session_id\":\"" + S + "\",\"ids\":[" + ids + "]}";
    ByteBuf b = Unpooled.copiedBuffer(frame, StandardCharsets.UTF_8);
    try {
      ProtocolException e = catchThrowableOfType(ProtocolException.class, () -> wide.decode(b));
      assertThat(e.code()).isEqualTo(ErrorCode.INVALID_FIELD_VALUE);
      assertThat(e.detail()).isEqualTo("ids: 1-100 notification ids");
    } finally {
      b.release();
    }
  }

  @ParameterizedTest(name = "[{index}] {1} {0}")
  @MethodSource("table")
  void decode_whenMalformed_thenDocumentedErrno(String frame, ErrorCode code, String detail) {
    ByteBuf b = Unpooled.copiedBuffer(frame, StandardCharsets.UTF_8);
    try {
      ProtocolException e = catchThrowableOfType(ProtocolException.class, () -> CODEC.decode(b));
      assertThat(e).as("decoding %s", frame).isNotNull();
      assertThat(e.code()).as("decoding %s", frame).isEqualTo(code);
      if (detail != null) {
        assertThat(e.detail()).isEqualTo(detail);
      }
      assertThat(e.reason().getBytes(StandardCharsets.UTF_8).length)
          .isLessThanOrEqualTo(ErrorCode.MAX_REASON_BYTES);
      // Plain words: none of the parser's own messages, classes or features.
      assertThat(e.reason())
          .doesNotContain("Jackson", "StreamRead", "Feature", "`", "Unexpected", "exceeds", "(");
      assertThat(b.refCnt()).isEqualTo(1);
      assertThat(b.readerIndex()).isZero();
    } finally {
      b.release();
    }
  }

  @Test
  void decode_whenByteOrderMark_thenMalformedJson_alsoAfterAGoodFrame() {
    DeviceCodec codec = new DeviceCodec(new DeviceCodec.Limits(512, 3, 10));
    byte[] good = DeviceFixtures.json("connect-minimal").getBytes(StandardCharsets.UTF_8);
    byte[] bom =
        ("\uFEFF" + DeviceFixtures.json("connect-minimal")).getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < 2; i++) {
      ProtocolException e =
          catchThrowableOfType(ProtocolException.class, () -> codec.decode(bom, 0, bom.length));
      assertThat(e.code()).isEqualTo(ErrorCode.MALFORMED_JSON);
      assertThat(e.reason()).isEqualTo("Malformed JSON: not JSON: byte order mark at byte 0");
      codec.decode(good, 0, good.length);
    }
  }

  @ParameterizedTest(name = "[{index}] invalid UTF-8 {0}")
  @MethodSource("invalidUtf8")
  void decode_whenInvalidUtf8_thenInvalidUtf8(byte[] bad) {
    ProtocolException e =
        catchThrowableOfType(ProtocolException.class, () -> CODEC.decode(bad, 0, bad.length));
    assertThat(e).isNotNull();
    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_UTF8);
  }

  static Stream<byte[]> invalidUtf8() {
    byte[] prefix = "{\"type\":\"connect\",\"assertion\":\"".getBytes(StandardCharsets.US_ASCII);
    byte[][] tails = {
      {(byte) 0xC3, '"', '}'},
      {(byte) 0xFF, '"', '}'},
      {(byte) 0xE2, (byte) 0x82, '"', '}'},
      {(byte) 0x80, '"', '}'},
      // Jackson decodes these itself: an overlong '<', an overlong '/', an encoded surrogate, a
      // code point above U+10FFFF, a five-byte form.
      {'x', (byte) 0xC0, (byte) 0xBC, 'y', '"', '}'},
      {(byte) 0xE0, (byte) 0x80, (byte) 0xAF, '"', '}'},
      {(byte) 0xED, (byte) 0xA0, (byte) 0x80, '"', '}'},
      {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80, '"', '}'},
      {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80, '"', '}'},
    };
    return Stream.of(tails)
        .map(
            t -> {
              byte[] b = new byte[prefix.length + t.length];
              System.arraycopy(prefix, 0, b, 0, prefix.length);
              System.arraycopy(t, 0, b, prefix.length, t.length);
              return b;
            });
  }

  /**
   * A status message with bytes a black-box probe got through: Jackson turned them into "x<y", "/",
   * U+DC00 U+DC00 and U+0000, and the node passed the first two on and answered the others with
   * errno 21. Each is INVALID_UTF8 (−13, which ends the session with close 1007: RFC 6455 §8.1),
   * found before parsing, and the next frame decodes.
   */
  @ParameterizedTest(name = "[{index}] message bytes {0}")
  @org.junit.jupiter.params.provider.ValueSource(
      strings = {"78 c0 bc 79", "e0 80 af", "f4 90 80 80", "c0 80", "ed b0 80", "78 c3"})
  void decode_whenStatusMessageIsInvalidUtf8_thenInvalidUtf8AtItsByte(String hex) {
    byte[] head =
        ("{\"type\":\"status\",\"session_id\":\"" + S + "\",\"status\":\"away\",\"message\":\"")
            .getBytes(StandardCharsets.US_ASCII);
    byte[] bad = java.util.HexFormat.of().parseHex(hex.replace(" ", ""));
    byte[] frame = new byte[head.length + bad.length + 2];
    System.arraycopy(head, 0, frame, 0, head.length);
    System.arraycopy(bad, 0, frame, head.length, bad.length);
    frame[frame.length - 2] = '"';
    frame[frame.length - 1] = '}';
    int firstBad = head.length + (bad[0] == 'x' ? 1 : 0);
    ByteBuf b = Unpooled.wrappedBuffer(frame);
    try {
      for (int round = 0; round < 2; round++) {
        ProtocolException e =
            round == 0
                ? catchThrowableOfType(ProtocolException.class, () -> CODEC.decode(b))
                : catchThrowableOfType(
                    ProtocolException.class, () -> CODEC.decode(frame, 0, frame.length));
        assertThat(e).isNotNull();
        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_UTF8);
        assertThat(e.detail()).isEqualTo("invalid UTF-8 at byte " + firstBad);
        assertThat(b.readerIndex()).isZero();
        String good =
            "{\"type\":\"status\",\"session_id\":\""
                + S
                + "\",\"status\":\"away\",\"message\":\"x<y é\"}";
        byte[] g = good.getBytes(StandardCharsets.UTF_8);
        DeviceMessage m = CODEC.decode(g, 0, g.length);
        assertThat(((DeviceMessage.StatusUpdate) m).message()).isEqualTo("x<y é");
      }
    } finally {
      b.release();
    }
  }
}
