package org.presence.protocol.error;

/**
 * Renders the {@link ErrorCode} table as Markdown for {@code docs/errors.md}, so the documented
 * table is the code's table. A test fails when the two differ (and rewrites the file when run with
 * {@code -Dpresence.updateDocs=true}).
 */
public final class ErrorTable {
  /** Marks the start of the generated table in the document. */
  public static final String BEGIN = "<!-- errno-table:begin (generated from ErrorCode) -->";

  /** Marks its end. */
  public static final String END = "<!-- errno-table:end -->";

  private ErrorTable() {}

  /** The table, between {@link #BEGIN} and {@link #END}. */
  public static String markdown() {
    StringBuilder b = new StringBuilder();
    b.append(BEGIN).append('\n');
    b.append(
        "| errno | name | HTTP | close | session | retry | meaning | what the client should do |\n");
    b.append("|---:|---|---:|---:|---|---|---|---|\n");
    for (ErrorCode c : ErrorCode.values()) {
      b.append("| ")
          .append(c.errno())
          .append(" | `")
          .append(c.name())
          .append("` | ")
          .append(c.httpStatus())
          .append(" | ")
          .append(c.closeCode())
          .append(" | ")
          .append(c.sessionLost() ? "lost" : "kept")
          .append(" | ")
          .append(c.retryable() ? "yes" : "no")
          .append(" | ")
          .append(c.reason())
          .append(" | ")
          .append(c.clientAction())
          .append(" |\n");
    }
    b.append(END);
    return b.toString();
  }
}
