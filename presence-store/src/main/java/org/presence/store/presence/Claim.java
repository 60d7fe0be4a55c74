package org.presence.store.presence;

import java.util.UUID;

/**
 * The outcome of a new session claiming a device: the session it took the device from, if any, or a
 * refusal because the user has too many devices.
 *
 * @param previousSession the former owner's session id, or {@code null}
 * @param previousNode the node that held it, or {@code null}
 * @param full the claim was refused: the device had no owner and the user's cap of owned devices
 *     was reached; nothing changed
 */
public record Claim(UUID previousSession, String previousNode, boolean full) {
  /** Nobody owned the device. */
  public static final Claim NONE = new Claim(null, null, false);

  /** Refused: the user already has as many owned devices as allowed. */
  public static final Claim FULL = new Claim(null, null, true);

  /** Another session owned the device, and the claim took it. */
  public Claim(UUID previousSession, String previousNode) {
    this(previousSession, previousNode, false);
  }

  /** Whether another session owned the device (and must now be closed). */
  public boolean replaced() {
    return previousSession != null;
  }
}
