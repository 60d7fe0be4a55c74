package org.presence.gateway.device;

import java.util.List;
import java.util.UUID;
import org.presence.store.queue.Notification;

/**
 * An open device session as live notifications see it (wiki section 6): where pending items are
 * pushed. Implemented by the session's {@link SessionDriver}; found through {@link
 * DeviceRegistry#sink}.
 */
public interface NotificationSink {
  /** Told about the items a push wrote to the socket. */
  @FunctionalInterface
  interface Written {
    /**
     * {@code items} reached the socket (the write succeeded) at {@code atMillis}, those past their
     * ttl flagged missed. Called on the session's event loop, once per frame written.
     */
    void written(List<Notification> items, long atMillis);
  }

  /** The session's user ({@code sub}). */
  String user();

  /** The session's id. */
  UUID session();

  /**
   * Pushes {@code items} to the device as {@code {"notifications": [...]}} frames, on the session's
   * event loop (any thread may call this). Items this session already received are skipped; a
   * closed session writes nothing; a device that stopped reading is closed ({@code SLOW_CONSUMER})
   * instead. {@code written} hears of every frame the socket took.
   */
  void push(List<Notification> items, Written written);
}
