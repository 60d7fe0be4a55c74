package org.presence.loadtest.presence;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;
import org.presence.loadtest.identity.TokenMinter;
import org.presence.loadtest.probe.ServerProbe;
import org.presence.loadtest.targets.AppChannel;
import org.presence.loadtest.targets.DeviceChannel;
import org.presence.loadtest.targets.NotificationApi;
import org.presence.loadtest.targets.Target;

/**
 * A Presence deployment as a target. Its probe works against any node; its channels are the
 * Presence clients, given to the constructor (empty while one does not exist in this build):
 *
 * <ul>
 *   <li>{@link DeviceChannel}: {@link PresenceDevices} on {@code /presence} (connect with an
 *       assertion, status frames acknowledged);
 *   <li>{@link AppChannel}: {@link PresenceApps} on {@code /<appid>} (key frame, update lists),
 *       with the applications {@link #prepare} registered and granted ({@link PresenceSetup});
 *   <li>{@link NotificationApi}: {@link PresenceNotifications}, {@code POST /<appid>/notification}
 *       as those applications to their users' PUIDs.
 * </ul>
 *
 * {@code engine.Targets.presence} is where they are wired in. Every built-in scenario then runs
 * against Presence unchanged. The application side (the setup, the update channel, the posts) may
 * be on a different node of the cluster from the devices ({@link #appsUrl}).
 */
public final class PresenceTarget implements Target {
  private final URI base;
  private final URI appsBase;
  private final Optional<DeviceChannel> devices;
  private final Optional<AppChannel> apps;
  private final Optional<NotificationApi> notifications;
  private final ServerProbe probe;

  /**
   * A Presence node or cluster at {@code base} with the given clients; the setup goes to {@code
   * appsBase}, where the app and notification clients should point too.
   */
  public PresenceTarget(
      URI base,
      URI appsBase,
      Optional<DeviceChannel> devices,
      Optional<AppChannel> apps,
      Optional<NotificationApi> notifications,
      ServerProbe probe) {
    this.base = base;
    this.appsBase = appsBase;
    this.devices = devices;
    this.apps = apps;
    this.notifications = notifications;
    this.probe = probe;
  }

  @Override
  public String name() {
    return "presence";
  }

  @Override
  public URI baseUrl() {
    return base;
  }

  /** Where the application side goes: the base URL unless the run named another node. */
  public URI appsUrl() {
    return appsBase;
  }

  @Override
  public Optional<DeviceChannel> devices() {
    return devices;
  }

  @Override
  public Optional<AppChannel> apps() {
    return apps;
  }

  @Override
  public Optional<NotificationApi> notifications() {
    return notifications;
  }

  @Override
  public boolean needsAssertions() {
    return true;
  }

  @Override
  public void prepare(int apps, long deviceUsers, TokenMinter minter, Path runDir, PrintWriter out)
      throws IOException, InterruptedException {
    if (apps > 0 && (this.apps.isPresent() || notifications.isPresent())) {
      PresenceSetup.prepare(appsBase, minter, apps, deviceUsers, runDir, out);
    }
  }

  @Override
  public ServerProbe probe() {
    return probe;
  }

  @Override
  public void close() {}
}
