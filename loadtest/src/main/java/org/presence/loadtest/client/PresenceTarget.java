package org.presence.loadtest.client;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.presence.loadtest.scenario.Action;
import org.presence.loadtest.scenario.Population;
import org.presence.loadtest.scenario.Simulation;

/**
 * A Presence deployment as a target. Its probe works against any node; its channels are the
 * Presence clients, given to the constructor, and empty until they exist in this build:
 *
 * <ul>
 *   <li>{@link DeviceChannel}: the device client of issue 3 ({@code /presence}, connect with an
 *       assertion and {@code application_ids}, status frames acknowledged {@code {"result":true}}),
 *       implementing or wrapped as {@link VirtualDevice};
 *   <li>{@link AppChannel}: the app update channel client of issue 5 ({@code /<appid>}, key frame,
 *       update lists), as {@link VirtualApp};
 *   <li>{@link NotificationApi}: {@code POST /<appid>/notification} of issue 6.
 * </ul>
 *
 * {@link Targets#presence} is where they are wired in. Every built-in scenario then runs against
 * Presence unchanged; {@link #prepare} registers the applications and grants the posters need.
 */
public final class PresenceTarget implements Target {
  private final URI base;
  private final Optional<DeviceChannel> devices;
  private final Optional<AppChannel> apps;
  private final Optional<NotificationApi> notifications;
  private final ServerProbe probe;

  /** A Presence node or cluster at {@code base} with the given clients. */
  public PresenceTarget(
      URI base,
      Optional<DeviceChannel> devices,
      Optional<AppChannel> apps,
      Optional<NotificationApi> notifications,
      ServerProbe probe) {
    this.base = base;
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
  public ServerProbe probe() {
    return probe;
  }

  /**
   * Prepares the notification posters of this slice: the app numbers it posts as (app user {@code
   * k} of {@code apps} belongs to slice {@code k % slots}) become active applications granted by
   * their device users ({@link PresenceNotifications#prepare}).
   */
  @Override
  public void prepare(Simulation sim, TokenMinter minter, int slot, int slots)
      throws IOException, InterruptedException {
    if (minter == null
        || notifications.isEmpty()
        || !(notifications.get() instanceof PresenceNotifications poster)) {
      return;
    }
    int apps = 0;
    boolean posts = false;
    for (Population p : sim.populations()) {
      if (p.role() == Population.Role.APPS) {
        apps = (int) Math.max(apps, p.profile().users());
        posts |= p.requires().contains(Action.Channel.NOTIFICATIONS);
      }
    }
    if (!posts) {
      return;
    }
    List<Integer> mine = new ArrayList<>();
    for (int k = slot; k < apps; k += slots) {
      mine.add(k);
    }
    poster.prepare(mine, apps, sim.deviceUsers(), minter);
  }

  @Override
  public void close() {}
}
