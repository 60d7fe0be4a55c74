package org.presence.loadtest.client;

import java.net.URI;
import java.util.Optional;

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
 * Presence unchanged.
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

  @Override
  public void close() {}
}
