package org.presence.loadtest.client;

import java.io.IOException;
import java.net.URI;
import java.util.Optional;
import org.presence.loadtest.scenario.Simulation;

/**
 * The system under load: where virtual devices and apps connect, and how its memory is read. A
 * scenario is written once against the channels; the target supplies them, so the same scenario
 * runs against the floor and against Presence and their figures compare one to one. A channel the
 * target does not offer is empty, and a scenario that needs it is refused before it starts.
 */
public interface Target extends AutoCloseable {
  /** {@code floor} or {@code presence}. */
  String name();

  /** The base URL. */
  URI baseUrl();

  /** The device channel, if offered. */
  Optional<DeviceChannel> devices();

  /** The app update channel, if offered. */
  Optional<AppChannel> apps();

  /** The notification API, if offered. */
  Optional<NotificationApi> notifications();

  /** Whether devices need signed identity assertions (minted before the run). */
  boolean needsAssertions();

  /** Reads the server's memory. */
  ServerProbe probe();

  /**
   * Sets up what slice {@code slot} of {@code slots} needs on the server before the run starts
   * (Presence: applications and grants for the notification posters); assertions come from {@code
   * minter} (null when the target needs none). Nothing by default.
   */
  default void prepare(Simulation sim, TokenMinter minter, int slot, int slots)
      throws IOException, InterruptedException {}

  /** Releases what the target holds (not the server). */
  @Override
  void close();
}
