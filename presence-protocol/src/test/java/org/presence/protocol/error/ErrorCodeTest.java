package org.presence.protocol.error;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ErrorCodeTest {
  @Test
  void errnos_areUnique() {
    Set<Integer> seen = new HashSet<>();
    for (ErrorCode c : ErrorCode.values()) {
      assertThat(seen.add(c.errno())).as("errno %d of %s", c.errno(), c).isTrue();
    }
  }

  @Test
  void reasons_fitACloseFrame() {
    for (ErrorCode c : ErrorCode.values()) {
      assertThat(c.reason().getBytes(StandardCharsets.UTF_8).length)
          .as(c.name())
          .isLessThanOrEqualTo(ErrorCode.MAX_REASON_BYTES);
    }
  }

  @Test
  void closeCodes_areInThePrivateRangeOrGoingAwayOrInvalidPayload() {
    for (ErrorCode c : ErrorCode.values()) {
      assertThat(
              c.closeCode() == 1001
                  || c.closeCode() == 1007
                  || (c.closeCode() >= 4000 && c.closeCode() <= 4999))
          .as("%s close code %d", c, c.closeCode())
          .isTrue();
    }
    assertThat(ErrorCode.SERVER_SHUTTING_DOWN.closeCode()).isEqualTo(1001);
    // RFC 6455 §8.1 and §7.4.1: text that is not UTF-8 fails the connection with 1007.
    assertThat(ErrorCode.INVALID_UTF8.closeCode()).isEqualTo(1007);
    assertThat(ErrorCode.INVALID_ASSERTION.closeCode()).isEqualTo(4034);
  }

  @Test
  void httpStatuses_areErrors() {
    for (ErrorCode c : ErrorCode.values()) {
      assertThat(c.httpStatus()).as(c.name()).isBetween(400, 599);
    }
  }

  @Test
  void sessionLost_whenErrnoIsNegative() {
    assertThat(ErrorCode.SESSION_REPLACED.sessionLost()).isTrue();
    assertThat(ErrorCode.SERVER_SHUTTING_DOWN.sessionLost()).isTrue();
    assertThat(ErrorCode.SLOW_DOWN.sessionLost()).isFalse();
    assertThat(ErrorCode.INVALID_ASSERTION.errno()).isEqualTo(34);
  }

  @Test
  void fromErrno_findsEveryCode() {
    for (ErrorCode c : ErrorCode.values()) {
      assertThat(ErrorCode.fromErrno(c.errno())).contains(c);
    }
    assertThat(ErrorCode.fromErrno(999_999)).isEmpty();
  }

  @Test
  void reasonWith_whenDetailIsLong_thenCutOnACharacterBoundary() {
    String detail = "é".repeat(200);
    String reason = ErrorCode.MISSING_FIELD.reasonWith(detail);
    byte[] bytes = reason.getBytes(StandardCharsets.UTF_8);
    assertThat(bytes.length).isLessThanOrEqualTo(ErrorCode.MAX_REASON_BYTES);
    assertThat(reason).startsWith("Missing field: é");
    assertThat(new String(bytes, StandardCharsets.UTF_8)).isEqualTo(reason);
  }

  @Test
  void reasonWith_whenNoDetail_thenReasonAlone() {
    assertThat(ErrorCode.NOT_FOUND.reasonWith(null)).isEqualTo("Not found");
    assertThat(ErrorCode.NOT_FOUND.reasonWith("")).isEqualTo("Not found");
  }
}
