package org.presence.store.presence;

import java.util.Objects;
import java.util.UUID;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;

/**
 * One device of a user as the {@link PresenceStateStore} keeps it.
 *
 * @param status the device's last status, or {@code null} while it has sent none (connected only)
 * @param message its custom status text, or {@code null}
 * @param session the session that owns the device now, or {@code null} for a device reported only
 *     by a push server; only the owner may update or release it
 * @param node the node holding the owning session ({@code ""} for none)
 * @param updatedMillis when the status was last set (epoch milliseconds)
 * @param applicationIds the applications this status is for, or {@code null} for every granted one
 */
public record DeviceState(
    PresenceStatus status,
    String message,
    UUID session,
    String node,
    long updatedMillis,
    ApplicationIds applicationIds) {
  public DeviceState {
    Objects.requireNonNull(node, "node");
  }

  /** Whether this device counts for presence: it has a status other than offline. */
  public boolean visible() {
    return status != null && status != PresenceStatus.OFFLINE;
  }

  /** Whether application {@code appId} (0: an application not named by any device) sees it. */
  boolean visibleTo(long appId) {
    return visible() && (applicationIds == null || (appId != 0 && applicationIds.contains(appId)));
  }
}
