package org.presence.store.presence;

import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;

/**
 * One device of a user as the {@link PresenceStateStore} keeps it: its latest status and the
 * applications that update was for, and what it still shows the applications that update did not
 * name (an update's {@code application_ids} is for that update only).
 *
 * @param status the device's last status, or {@code null} while it has sent none (connected only)
 * @param message its custom status text, or {@code null}
 * @param session the session that owns the device now, or {@code null} for a device reported only
 *     by a push server; only the owner may update or release it
 * @param node the node holding the owning session ({@code ""} for none)
 * @param updatedMillis when the status was last set (epoch milliseconds)
 * @param applicationIds the applications this status is for, or {@code null} for every granted one
 * @param earlier what earlier updates still show the applications outside {@code applicationIds}:
 *     by application id, and under {@link PresenceChange#ALL_APPS} for every application named
 *     neither here nor in {@code applicationIds}; empty when the latest update was for every
 *     application or nothing earlier is left. At most {@link #MAX_EARLIER} application ids.
 */
public record DeviceState(
    PresenceStatus status,
    String message,
    UUID session,
    String node,
    long updatedMillis,
    ApplicationIds applicationIds,
    Map<Long, Shown> earlier) {
  /**
   * The most applications a device keeps an earlier status for; beyond, the oldest are forgotten
   * (those applications stop seeing the device). {@code presence.lua} has the same number.
   */
  public static final int MAX_EARLIER = 100;

  /**
   * What one update of a device showed its audience.
   *
   * @param status the status (never {@code null})
   * @param message its message, or {@code null}
   * @param updatedMillis when it was set (epoch milliseconds)
   */
  public record Shown(PresenceStatus status, String message, long updatedMillis) {
    public Shown {
      Objects.requireNonNull(status, "status");
    }
  }

  public DeviceState {
    Objects.requireNonNull(node, "node");
    earlier = earlier == null || earlier.isEmpty() ? Map.of() : Map.copyOf(earlier);
  }

  /**
   * What this device shows application {@code appId} (0: an application not named by any device),
   * or {@code null} when nothing.
   */
  Shown shownTo(long appId) {
    if (showsLatestTo(appId)) {
      return status == null ? null : new Shown(status, message, updatedMillis);
    }
    return shownEarlierTo(appId);
  }

  /**
   * Whether this device shows application {@code appId} (positive) a status other than offline, as
   * the presence the application gets is decided: its latest status when that was for every
   * application or named {@code appId}, else what an earlier update still shows it. A device with
   * no status yet, one that is offline, and one whose {@code application_ids} leave the application
   * out show it nothing. Live notifications send a {@code delivered} receipt only for a write to
   * such a device.
   */
  public boolean showsPresenceTo(long appId) {
    Shown s = shownTo(appId);
    return s != null && s.status() != PresenceStatus.OFFLINE;
  }

  /**
   * Whether application {@code appId} (0: an application not named by any device) is shown this
   * device's latest status (its {@code status}, {@code message} and {@code updatedMillis}), if it
   * has one; else it is shown {@link #shownEarlierTo}.
   */
  boolean showsLatestTo(long appId) {
    return applicationIds == null || (appId != 0 && applicationIds.contains(appId));
  }

  /**
   * What an earlier update still shows application {@code appId}, or {@code null}; for an
   * application that {@link #showsLatestTo} says is not shown the latest status.
   */
  Shown shownEarlierTo(long appId) {
    if (earlier.isEmpty()) {
      return null;
    }
    Shown s = appId == 0 ? null : earlier.get(appId);
    return s != null ? s : earlier.get(PresenceChange.ALL_APPS);
  }

  /** Whether the shared audience (applications no device names) may see something of it. */
  boolean showsAll() {
    return applicationIds == null || earlier.containsKey(PresenceChange.ALL_APPS);
  }
}
