package org.presence.loadtest.targets;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;
import org.presence.loadtest.identity.TokenMinter;
import org.presence.loadtest.probe.ServerProbe;

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

  /**
   * Readies the target for a run with {@code apps} apps and {@code deviceUsers} device users
   * (device user {@code u} reports to app {@code u % apps}); the coordinator calls it once, before
   * any injector starts, and may leave what the injectors need in {@code runDir}. Nothing by
   * default.
   *
   * @param minter identity assertions (null when the target needs none)
   */
  default void prepare(int apps, long deviceUsers, TokenMinter minter, Path runDir, PrintWriter out)
      throws IOException, InterruptedException {}

  /** Reads the server's memory. */
  ServerProbe probe();

  /** Releases what the target holds (not the server). */
  @Override
  void close();
}
