package org.presence.protocol.error;

import java.util.Objects;

/**
 * A failure that carries the {@link ErrorCode} to answer with. Codecs throw it for bad input;
 * services throw it for refused requests. It never carries a stack trace: it is an expected
 * outcome, answered and counted once at the transport boundary.
 */
public class ProtocolException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;
  private final String detail;

  public ProtocolException(ErrorCode code) {
    this(code, null);
  }

  public ProtocolException(ErrorCode code, String detail) {
    this(code, detail, null);
  }

  /** With the underlying failure kept as the cause, for logs; it is never shown to clients. */
  public ProtocolException(ErrorCode code, String detail, Throwable cause) {
    super(detail == null ? code.reason() : code.reason() + ": " + detail, cause, false, false);
    this.code = Objects.requireNonNull(code, "code");
    this.detail = detail;
  }

  /** The error to answer with. */
  public ErrorCode code() {
    return code;
  }

  /** Extra context for the reason (a field name, a limit), or {@code null}. */
  public String detail() {
    return detail;
  }

  /** The reason text sent to the client: the code's reason plus the detail, cut to fit a frame. */
  public String reason() {
    return code.reasonWith(detail);
  }
}
