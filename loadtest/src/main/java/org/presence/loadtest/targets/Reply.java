package org.presence.loadtest.targets;

/**
 * The server's answer to a request: {@code {"result": true}}, {@code {"result": false, "errno": N,
 * "reason": "..."}}, or nothing at all for a channel without acknowledgements (the floor relay).
 *
 * @param acked whether the server acknowledged the request (only then is ack latency recorded)
 * @param ok whether the request was accepted (true when not acked but written)
 * @param errno the error number when not ok; negative means the session is lost
 * @param reason the error reason when not ok
 */
public record Reply(boolean acked, boolean ok, int errno, String reason) {
  private static final Reply ACK = new Reply(true, true, 0, "");
  private static final Reply WRITTEN = new Reply(false, true, 0, "");

  /** Accepted and acknowledged. */
  public static Reply ack() {
    return ACK;
  }

  /** Written; the channel does not acknowledge. */
  public static Reply written() {
    return WRITTEN;
  }

  /** Refused with {@code errno}. */
  public static Reply error(int errno, String reason) {
    return new Reply(true, false, errno, reason);
  }

  /** Whether the error ends the session (a negative errno). */
  public boolean sessionLost() {
    return !ok && errno < 0;
  }
}
