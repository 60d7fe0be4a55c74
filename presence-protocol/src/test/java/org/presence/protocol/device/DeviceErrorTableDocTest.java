package org.presence.protocol.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.presence.protocol.error.ErrorCode;

/**
 * Keeps the device channel's errno table in docs/device-protocol.md equal to {@link ErrorCode}: the
 * codes a device (or a push server) can get, rendered from the enum. Run with {@code
 * -Dpresence.updateDocs=true} to rewrite it.
 */
class DeviceErrorTableDocTest {
  private static final Path DOC = Path.of("..", "docs", "device-protocol.md");
  private static final String BEGIN =
      "<!-- device-errno-table:begin (generated from ErrorCode) -->";
  private static final String END = "<!-- device-errno-table:end -->";

  /** Every errno the device channel and the push-server endpoint answer with. */
  static final List<ErrorCode> DEVICE_CODES =
      List.of(
          ErrorCode.MALFORMED_JSON,
          ErrorCode.UNKNOWN_TYPE,
          ErrorCode.MISSING_FIELD,
          ErrorCode.WRONG_FIELD_TYPE,
          ErrorCode.DUPLICATE_FIELD,
          ErrorCode.NON_TEXT_FRAME,
          ErrorCode.INVALID_STATUS,
          ErrorCode.MESSAGE_TOO_LONG,
          ErrorCode.TOO_MANY_APPLICATION_IDS,
          ErrorCode.INVALID_APPLICATION_ID,
          ErrorCode.UNKNOWN_SESSION,
          ErrorCode.INVALID_FIELD_VALUE,
          ErrorCode.NOT_CONNECTED,
          ErrorCode.ALREADY_CONNECTED,
          ErrorCode.PRESENCE_ID_TAKEN,
          ErrorCode.UNKNOWN_PRESENCE_ID,
          ErrorCode.IDENTITY_MISMATCH,
          ErrorCode.INVALID_ASSERTION,
          ErrorCode.ASSERTION_EXPIRED,
          ErrorCode.IDENTITY_UNAVAILABLE,
          ErrorCode.SLOW_DOWN,
          ErrorCode.TOO_MANY_HANDSHAKES,
          ErrorCode.UNAUTHORIZED,
          ErrorCode.UNKNOWN_NOTIFICATION,
          ErrorCode.INTERNAL_ERROR,
          ErrorCode.SERVER_BUSY,
          ErrorCode.BACKEND_UNAVAILABLE,
          ErrorCode.CONNECT_TIMEOUT,
          ErrorCode.SESSION_REPLACED,
          ErrorCode.SERVER_SHUTTING_DOWN,
          ErrorCode.RATE_LIMIT_EXCEEDED,
          ErrorCode.FRAME_TOO_LARGE,
          ErrorCode.SLOW_CONSUMER,
          ErrorCode.PING_TIMEOUT,
          ErrorCode.TOO_MANY_SESSIONS,
          ErrorCode.HANDSHAKE_FAILED,
          ErrorCode.SESSION_ABORTED,
          ErrorCode.IDENTITY_EXPIRED,
          ErrorCode.DEVICE_REVOKED,
          ErrorCode.INVALID_UTF8);

  static String table() {
    StringBuilder b = new StringBuilder();
    b.append(BEGIN).append('\n');
    b.append("| errno | name | close | session | meaning | what the client should do |\n");
    b.append("|---:|---|---:|---|---|---|\n");
    for (ErrorCode c : DEVICE_CODES) {
      b.append("| ")
          .append(c.errno())
          .append(" | `")
          .append(c.name())
          .append("` | ")
          .append(c.closeCode())
          .append(" | ")
          .append(c.sessionLost() ? "lost" : "kept")
          .append(" | ")
          .append(c.reason())
          .append(" | ")
          .append(c.clientAction())
          .append(" |\n");
    }
    b.append(END);
    return b.toString();
  }

  @Test
  void docsDeviceProtocolMd_showsTheCurrentTable() throws Exception {
    String doc = Files.readString(DOC, StandardCharsets.UTF_8);
    String table = table();
    int begin = doc.indexOf(BEGIN);
    int end = doc.indexOf(END);
    String current = begin < 0 || end < 0 ? "" : doc.substring(begin, end + END.length());
    if (!current.equals(table) && Boolean.getBoolean("presence.updateDocs")) {
      Files.writeString(
          DOC,
          doc.substring(0, begin) + table + doc.substring(end + END.length()),
          StandardCharsets.UTF_8);
      current = table;
    }
    assertThat(current)
        .as(
            "docs/device-protocol.md is out of date: run mvn -pl presence-protocol test"
                + " -Dtest=DeviceErrorTableDocTest -Dpresence.updateDocs=true")
        .isEqualTo(table);
  }
}
