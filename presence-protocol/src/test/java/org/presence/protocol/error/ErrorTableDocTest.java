package org.presence.protocol.error;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Keeps docs/errors.md equal to the ErrorCode table. */
class ErrorTableDocTest {
  private static final Path DOC = Path.of("..", "docs", "errors.md");

  @Test
  void docsErrorsMd_showsTheCurrentTable() throws Exception {
    String doc = Files.readString(DOC, StandardCharsets.UTF_8);
    String table = ErrorTable.markdown();
    int begin = doc.indexOf(ErrorTable.BEGIN);
    int end = doc.indexOf(ErrorTable.END);
    String current =
        begin < 0 || end < 0 ? "" : doc.substring(begin, end + ErrorTable.END.length());
    if (!current.equals(table) && Boolean.getBoolean("presence.updateDocs")) {
      String updated =
          begin < 0 || end < 0
              ? doc.stripTrailing() + "\n\n" + table + "\n"
              : doc.substring(0, begin) + table + doc.substring(end + ErrorTable.END.length());
      Files.writeString(DOC, updated, StandardCharsets.UTF_8);
      current = table;
    }
    assertThat(current)
        .as(
            "docs/errors.md is out of date: run mvn -pl presence-protocol test"
                + " -Dtest=ErrorTableDocTest -Dpresence.updateDocs=true")
        .isEqualTo(table);
  }

  @Test
  void everyCodeHasAnAction() {
    for (ErrorCode c : ErrorCode.values()) {
      assertThat(c.clientAction()).as(c.name()).isNotBlank();
    }
  }
}
