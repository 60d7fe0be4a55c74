package org.presence.loadtest.engine;

import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Supplier;
import org.presence.loadtest.floor.FloorTarget;
import org.presence.loadtest.presence.PresenceApps;
import org.presence.loadtest.presence.PresenceDevices;
import org.presence.loadtest.presence.PresenceNotifications;
import org.presence.loadtest.presence.PresenceProbe;
import org.presence.loadtest.presence.PresenceSetup;
import org.presence.loadtest.presence.PresenceTarget;
import org.presence.loadtest.targets.Target;
import org.presence.loadtest.transport.HttpPoster;
import org.presence.loadtest.transport.WsConnector;

/**
 * Builds the {@link Target} a run names. This is where the Presence clients plug in: {@link
 * #presence} passes the device client ({@link PresenceDevices}), the app update channel client
 * ({@link PresenceApps}) and the notification poster ({@link PresenceNotifications}) to {@link
 * PresenceTarget}; the last two share what the coordinator's {@link PresenceSetup} left in the run
 * folder.
 */
public final class Targets {
  private Targets() {}

  /** The floor at {@code base}; {@code acks}: whether it answers each device frame. */
  public static Target floor(URI base, WsConnector connector, boolean acks) {
    return new FloorTarget(base, connector, acks);
  }

  /**
   * A Presence node or cluster at {@code base}; {@code pid} is the node's process when it runs on
   * this machine. The application side (the setup, the update channel client, the notification
   * poster) goes to {@code appsBase}: {@code base} itself, or another node of the same cluster so
   * that updates and notifications cross between nodes. {@code connector} is what the Presence
   * clients open their sockets with, {@code poster} what the notification poster posts with; {@code
   * runDir} is the run folder, where the coordinator's setup leaves the applications' keys; the
   * node's memory is read from {@code /metrics} at {@code metricsBase}, its admin port.
   */
  public static Target presence(
      URI base,
      URI appsBase,
      boolean appsOverStream,
      WsConnector connector,
      HttpPoster poster,
      OptionalLong pid,
      Path runDir,
      URI metricsBase) {
    Supplier<PresenceSetup.Setup> setup = memoize(() -> PresenceSetup.load(runDir));
    return new PresenceTarget(
        base,
        appsBase,
        Optional.of(new PresenceDevices(base, connector)),
        Optional.of(new PresenceApps(appsBase, appsOverStream, connector, setup)),
        Optional.of(new PresenceNotifications(appsBase, poster, setup)),
        new PresenceProbe(metricsBase, pid));
  }

  private static <T> Supplier<T> memoize(Supplier<T> s) {
    return new Supplier<>() {
      private volatile T value;

      @Override
      public T get() {
        T v = value;
        if (v == null) {
          synchronized (this) {
            v = value;
            if (v == null) {
              v = s.get();
              value = v;
            }
          }
        }
        return v;
      }
    };
  }
}
