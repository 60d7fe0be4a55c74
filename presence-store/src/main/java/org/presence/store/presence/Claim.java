package org.presence.store.presence;

import java.util.UUID;

/**
 * The outcome of a new session claiming a device: the session it took the device from, if any.
 *
 * @param previousSession the former owner's session id, or {@code null}
 * @param previousNode the node that held it, or {@code null}
 */
public record Claim(UUID previousSession, String previousNode) {
  /** Nobody owned the device. */
  public static final Claim NONE = new Claim(null, null);

  /** Whether another session owned the device (and must now be closed). */
  public boolean replaced() {
    return previousSession != null;
  }
}
