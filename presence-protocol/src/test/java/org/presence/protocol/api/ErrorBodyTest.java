package org.presence.protocol.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

class ErrorBodyTest {
  @Test
  void write_producesTheWikiErrorShape() {
    ByteBuf out = Unpooled.buffer();
    try {
      ErrorBody.write(new ProtocolException(ErrorCode.INVALID_ASSERTION), out);
      assertThat(out.toString(StandardCharsets.UTF_8))
          .isEqualTo("{\"result\":false,\"errno\":34,\"reason\":\"Invalid assertion\"}");
    } finally {
      out.release();
    }
  }

  @Test
  void write_escapesTheReason() {
    ByteBuf out = Unpooled.buffer();
    try {
      ErrorBody.write(ErrorCode.MISSING_FIELD, "a \"quoted\" <b>\n", out);
      assertThat(out.toString(StandardCharsets.UTF_8))
          .isEqualTo("{\"result\":false,\"errno\":12,\"reason\":\"a \\\"quoted\\\" <b>\\n\"}");
    } finally {
      out.release();
    }
  }
}
