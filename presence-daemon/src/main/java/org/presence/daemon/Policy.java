package org.presence.daemon;

import java.time.Duration;
import java.util.Objects;
import org.presence.client.DeviceClient;
import org.presence.client.PresenceStatus;

/**
 * The user's presence policy and messages (their {@code /settings}, seed 000's "Presence Policy"):
 * which status an idle time means.
 *
 * <ul>
 *   <li>idle at least {@code offlineAfterMinutes}: {@code offline};
 *   <li>else idle at least {@code awayAfterMinutes}: {@code away};
 *   <li>else used within {@code onlineWithinMinutes}: {@code online};
 *   <li>else (between the two, when "online within" is shorter than "away after"): the status stays
 *       what it was, {@code online} when there was none yet.
 * </ul>
 *
 * <p>The messages are not sent by the daemon: a status without a message of its own carries the
 * user's custom status ({@code online}) or away message ({@code away}), added by the node
 * (docs/device-protocol.md#the-users-own-messages), so a change of message shows at once even while
 * the status stays.
 */
public record Policy(
    int onlineWithinMinutes,
    int awayAfterMinutes,
    int offlineAfterMinutes,
    String customStatus,
    String awayMessage) {

  /** The node's defaults for a user who never changed their settings. */
  public static final Policy DEFAULTS = new Policy(5, 10, 25, "", "");

  public Policy {
    Objects.requireNonNull(customStatus, "customStatus");
    Objects.requireNonNull(awayMessage, "awayMessage");
  }

  /** The policy of a settings frame. */
  public static Policy of(DeviceClient.Settings s) {
    return new Policy(
        s.onlineWithinMinutes(),
        s.awayAfterMinutes(),
        s.offlineAfterMinutes(),
        s.customStatus(),
        s.awayMessage());
  }

  /** The status for {@code idle}, given the status shown now ({@code null}: none yet). */
  public PresenceStatus statusFor(Duration idle, PresenceStatus current) {
    long minutes = idle.toMinutes();
    if (offlineAfterMinutes > 0 && minutes >= offlineAfterMinutes) {
      return PresenceStatus.OFFLINE;
    }
    if (awayAfterMinutes > 0 && minutes >= awayAfterMinutes) {
      return PresenceStatus.AWAY;
    }
    if (idle.compareTo(Duration.ofMinutes(onlineWithinMinutes)) < 0 || current == null) {
      return PresenceStatus.ONLINE;
    }
    return current;
  }
}
