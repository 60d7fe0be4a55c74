package org.presence.loadtest.targets;

import java.util.concurrent.CompletionStage;

/**
 * One device's connection on the device channel, as the harness's actions drive it. Every method is
 * called on the device's event loop; failures complete the stage with a {@link ClientException}.
 * Implemented by the floor's relay client ({@code floor.FloorTarget}) and by the Presence device
 * client ({@code presence.PresenceDevices}).
 */
public interface VirtualDevice {
  /**
   * Opens the socket and the session ({@code {"type":"connect",...}} for Presence); completes when
   * the server accepted it.
   */
  CompletionStage<Void> connect(DeviceIdentity identity);

  /**
   * Sends a status update whose custom message is {@code message} (it carries a {@link
   * org.presence.loadtest.metrics.Stamp}); completes with the server's answer.
   */
  CompletionStage<Reply> sendStatus(String status, String message);

  /** Closes the connection; completes when it is closed. */
  CompletionStage<Void> disconnect();

  /** Whether the connection is open. */
  boolean isOpen();

  /**
   * Closes the connection at once (the run is over): one still opening is given up and fails, an
   * open one closes without waiting for the server. Disconnects by default.
   */
  default void abort() {
    disconnect();
  }
}
