package org.presence.client;

/**
 * An answer of the node that refused something: its errno (docs/errors.md), its reason, and, for
 * HTTP answers, the status ({@code 0} on a WebSocket). Act on {@link #errno()}, never on the
 * reason.
 */
public class PresenceException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Slow down: the frame was dropped, the session kept. */
  public static final int SLOW_DOWN = 40;

  /** The application's notification rate limit. */
  public static final int APP_RATE_LIMITED = 172;

  /** An acknowledge or dismiss named an id the node does not know (the known ones were taken). */
  public static final int UNKNOWN_NOTIFICATION = 173;

  /**
   * The application has too many notifications queued (over all its users); the item was not
   * stored. Not retried by the client: retry later, once queued items are delivered or expire.
   */
  public static final int APP_QUEUE_FULL = 174;

  /** No errno: the connection ended or could not be made. */
  public static final int NO_ERRNO = 0;

  private final int errno;
  private final int httpStatus;
  private final String reason;

  public PresenceException(int errno, int httpStatus, String reason) {
    super(
        (errno != NO_ERRNO ? "errno " + errno + ": " : "")
            + reason
            + (httpStatus != 0 ? " (HTTP " + httpStatus + ")" : ""));
    this.errno = errno;
    this.httpStatus = httpStatus;
    this.reason = reason;
  }

  public PresenceException(String reason, Throwable cause) {
    super(reason, cause);
    this.errno = NO_ERRNO;
    this.httpStatus = 0;
    this.reason = reason;
  }

  /** The errno, or {@link #NO_ERRNO}. */
  public int errno() {
    return errno;
  }

  /** The HTTP status, or {@code 0}. */
  public int httpStatus() {
    return httpStatus;
  }

  /** The node's reason (for logs; may carry a detail after a colon). */
  public String reason() {
    return reason;
  }
}
