package org.presence.loadtest.targets;

import java.util.concurrent.CompletionStage;

/**
 * One AppService connection on the app update channel ({@code /<appid>} with a key frame for
 * Presence, issue 5), as the harness's actions drive it. Updates arrive through the {@link Inbound}
 * it was made with. Methods are called on its event loop.
 */
public interface VirtualApp {
  /** Opens the connection and subscribes as app number {@code app}; completes when accepted. */
  CompletionStage<Void> subscribe(int app);

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
