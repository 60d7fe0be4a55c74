package org.presence.protocol.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

class JsonTest {
  private static void readAll(String json) throws IOException {
    ByteBuf buf = Unpooled.copiedBuffer(json, StandardCharsets.UTF_8);
    try (JsonParser p = Json.parser(Json.frames(), buf)) {
      while (p.nextToken() != null) {
        // consume
      }
    } finally {
      buf.release();
    }
  }

  @Test
  void parser_whenFieldRepeats_thenRejects() {
    assertThatThrownBy(() -> readAll("{\"a\":1,\"a\":2}"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("Duplicate field");
  }

  /**
   * The internal factory (what nodes wrote for each other) checks no field for repeats, reading or
   * writing, and keeps the documents' limits; client input keeps the check.
   */
  @Test
  void internal_readsAndWritesARepeatedField_andKeepsTheLimits() throws IOException {
    try (JsonParser p = Json.internal().createParser("{\"a\":1,\"a\":2}")) {
      while (p.nextToken() != null) {
        // consume
      }
      assertThat(p.currentLocation().getCharOffset()).isEqualTo(13);
    }
    java.io.StringWriter out = new java.io.StringWriter();
    try (com.fasterxml.jackson.core.JsonGenerator g = Json.internal().createGenerator(out)) {
      g.writeStartObject();
      g.writeNumberField("a", 1);
      g.writeNumberField("a", 2);
      g.writeEndObject();
    }
    assertThat(out.toString()).isEqualTo("{\"a\":1,\"a\":2}");
    ByteBuf buf = Unpooled.buffer();
    try (com.fasterxml.jackson.core.JsonGenerator g = Json.generator(buf)) {
      g.writeStartObject();
      g.writeNumberField("a", 1);
      g.writeNumberField("a", 2);
      g.writeEndObject();
    } finally {
      buf.release();
    }
    String deep = "[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1);
    assertThatThrownBy(
            () -> {
              try (JsonParser p = Json.internal().createParser(deep)) {
                while (p.nextToken() != null) {
                  // consume
                }
              }
            })
        .isInstanceOf(StreamConstraintsException.class);
    assertThatThrownBy(
            () -> {
              try (JsonParser p = Json.documents().createParser("{\"a\":1,\"a\":2}")) {
                while (p.nextToken() != null) {
                  // consume
                }
              }
            })
        .hasMessageContaining("Duplicate field");
  }

  @Test
  void parser_whenNestedTooDeep_thenRejects() {
    String deep = "[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1);
    assertThatThrownBy(() -> readAll(deep)).isInstanceOf(StreamConstraintsException.class);
  }

  @Test
  void parser_whenNumberHuge_thenRejects() {
    assertThatThrownBy(() -> readAll("{\"n\":" + "9".repeat(1000) + "}"))
        .isInstanceOf(StreamConstraintsException.class);
  }

  @Test
  void parser_whenDocumentOverFrameLimit_thenRejects() {
    String big = "{\"s\":\"" + "x".repeat(Json.DEFAULT_FRAME_LIMIT) + "\"}";
    assertThatThrownBy(() -> readAll(big)).isInstanceOf(StreamConstraintsException.class);
  }

  @Test
  void parser_whenNaN_thenRejects() {
    assertThatThrownBy(() -> readAll("{\"n\":NaN}")).isInstanceOf(IOException.class);
  }

  @Test
  void parser_readsWithoutReleasingTheBuffer() throws IOException {
    ByteBuf buf = Unpooled.copiedBuffer("{\"a\":[1,2]}", StandardCharsets.UTF_8);
    try (JsonParser p = Json.parser(Json.frames(), buf)) {
      assertThat(p.nextToken()).isEqualTo(JsonToken.START_OBJECT);
    }
    assertThat(buf.refCnt()).isEqualTo(1);
    buf.release();
  }

  @Test
  void parser_whenInvalidUtf8_thenMalformedJsonBeforeParsing() {
    // "x" E0 80 AF "y": an overlong '/' that Jackson alone decodes without complaint.
    ByteBuf buf =
        Unpooled.wrappedBuffer(
            new byte[] {'[', '"', 'x', (byte) 0xE0, (byte) 0x80, (byte) 0xAF, 'y', '"', ']'});
    try {
      assertThatThrownBy(() -> Json.parser(Json.documents(), buf))
          .isInstanceOfSatisfying(
              org.presence.protocol.error.ProtocolException.class,
              e -> {
                assertThat(e.code())
                    .isEqualTo(org.presence.protocol.error.ErrorCode.MALFORMED_JSON);
                assertThat(e.detail()).isEqualTo("invalid UTF-8 at byte 3");
              });
      assertThat(buf.readerIndex()).isZero();
    } finally {
      buf.release();
    }
  }

  /** What {@link Json#refusal} answers to {@code json} read to its end from {@code factory}. */
  private static ProtocolException refusal(JsonFactory factory, byte[] json) {
    ByteBuf buf = Unpooled.wrappedBuffer(json);
    try (JsonParser p = Json.parser(factory, buf)) {
      while (p.nextToken() != null) {
        if (p.currentToken() == JsonToken.VALUE_NUMBER_INT) {
          p.getLongValue();
        } else if (p.currentToken() == JsonToken.VALUE_STRING) {
          p.getText();
        }
      }
    } catch (IOException e) {
      return Json.refusal(e);
    } finally {
      buf.release();
    }
    throw new AssertionError("read without a failure");
  }

  private static ProtocolException refusal(String json) {
    return refusal(Json.frames(), json.getBytes(StandardCharsets.UTF_8));
  }

  /** Names of Jackson's classes, features and settings that a client must never read. */
  static void assertPlain(ProtocolException e) {
    assertThat(e.reason())
        .doesNotContain("Jackson", "jackson", "StreamRead", "JsonReadFeature", "`", "enable")
        .doesNotContain("code 239", "Unexpected", "exceeds", "(");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "{\"n\":Infinity}|not JSON: invalid number at byte 13",
        "{\"n\":NaN}|not JSON: invalid number at byte 8",
        "{\"n\":01}|not JSON: invalid number at byte 6",
        "{\"n\":tru}|not JSON: unknown word at byte 5",
        "{\"n\":1]|not JSON: unexpected closing bracket at byte 6",
        "{\"n\":|not JSON: unexpected end at byte 5",
        "{n:1}|not JSON: unexpected character at byte 1",
        "{\"n\":\"a\\qb\"}|not JSON: invalid escape at byte 8",
      })
  void refusal_whenNotJson_thenSaysWhatAndWhereInPlainWords(String json, String detail) {
    ProtocolException e = refusal(json);
    assertThat(e.code()).isEqualTo(ErrorCode.MALFORMED_JSON);
    assertThat(e.detail()).isEqualTo(detail);
    assertPlain(e);
  }

  @Test
  void refusal_whenOverALimit_thenNamesTheLimitInPlainWords() {
    String deep = "[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1);
    assertThat(refusal(deep).detail()).isEqualTo("nested deeper than 16");
    assertThat(refusal("[" + "9".repeat(25) + "]").detail()).isEqualTo("number too long");
    assertThat(refusal("[1." + "9".repeat(25) + "]").detail()).isEqualTo("number too long");
    String longString = "[\"" + "x".repeat(Json.MAX_STRING_LENGTH + 1) + "\"]";
    assertThat(refusal(Json.documents(), longString.getBytes(StandardCharsets.UTF_8)).detail())
        .isEqualTo("string too long");
    assertThat(refusal("{\"" + "n".repeat(300) + "\":1}").detail())
        .isEqualTo("field name too long");
    assertThat(refusal("[\"" + "x".repeat(Json.DEFAULT_FRAME_LIMIT) + "\"]").detail())
        .isEqualTo("document too long");
    for (String json : List.of(deep, "[" + "9".repeat(25) + "]")) {
      assertThat(refusal(json).code()).isEqualTo(ErrorCode.MALFORMED_JSON);
      assertPlain(refusal(json));
    }
  }

  @Test
  void refusal_whenFieldRepeats_thenDuplicateFieldWithItsName() {
    ProtocolException e = refusal("{\"a\":1,\"b\":{\"c\":2,\"c\":3}}");
    assertThat(e.code()).isEqualTo(ErrorCode.DUPLICATE_FIELD);
    assertThat(e.reason()).isEqualTo("Duplicate field: c");
  }

  @Test
  void refusal_whenANumberFitsNoLong_thenWrongFieldTypeNamingTheField() {
    ProtocolException e = refusal("{\"n\":99999999999999999999}");
    assertThat(e.code()).isEqualTo(ErrorCode.WRONG_FIELD_TYPE);
    assertThat(e.detail()).isEqualTo("n: number out of range");
    assertPlain(e);
  }
}
