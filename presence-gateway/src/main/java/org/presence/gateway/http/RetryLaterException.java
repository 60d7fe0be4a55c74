package org.presence.gateway.http;

import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * A refusal by a rate limit that knows when the same request will succeed: the JSON API answers it
 * with {@code Retry-After: seconds}.
 */
public final class RetryLaterException extends ProtocolException {
  private static final long serialVersionUID = 1L;

  private final long seconds;

  public RetryLaterException(ErrorCode code, long seconds) {
    super(code, "retry in " + seconds + " s");
    this.seconds = seconds;
  }

  /** Whole seconds until the request may succeed (at least 1). */
  public long seconds() {
    return seconds;
  }
}
