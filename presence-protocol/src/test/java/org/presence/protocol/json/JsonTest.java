package org.presence.protocol.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

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
}
