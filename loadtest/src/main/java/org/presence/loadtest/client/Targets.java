package org.presence.loadtest.client;

import java.net.URI;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Builds the {@link Target} a run names. This is where the Presence clients plug in: {@link
 * #presence} passes the device client ({@link PresenceDevices}) and the notification poster
 * ({@link PresenceNotifications}) to {@link PresenceTarget}; the app update channel client (issue
 * 5) joins them when it exists, and every built-in scenario then runs against Presence.
 */
public final class Targets {
  private Targets() {}

  /** The floor at {@code base}. */
  public static Target floor(URI base, WsConnector connector) {
    return new FloorTarget(base, connector);
  }

  /**
   * A Presence node or cluster at {@code base}; {@code pid} is the node's process when it runs on
   * this machine. {@code connector} is what the Presence clients will open their sockets with.
   */
  public static Target presence(URI base, WsConnector connector, OptionalLong pid) {
    return new PresenceTarget(
        base,
        Optional.of(new PresenceDevices(base, connector)),
        Optional.empty(),
        Optional.of(new PresenceNotifications(base)),
        new PresenceProbe(base, pid));
  }
}
