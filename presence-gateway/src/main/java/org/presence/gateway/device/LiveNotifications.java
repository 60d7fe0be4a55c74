package org.presence.gateway.device;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * What the device channel asks of live notifications (wiki section 6): deliver what waits when a
 * session opens, and take the device's answers. The notification feature attaches its
 * implementation with {@link DeviceChannel#attach}; until then sessions get {@link #NONE}.
 */
public interface LiveNotifications {
  /** Nothing to deliver, every answer unknown. */
  LiveNotifications NONE =
      new LiveNotifications() {
        @Override
        public void opened(NotificationSink session) {}

        @Override
        public CompletionStage<List<String>> answered(
            String user, List<String> ids, boolean acted) {
          return CompletableFuture.completedFuture(ids);
        }
      };

  /**
   * A session opened (it is in the {@link DeviceRegistry} and its answer was sent): push what waits
   * for its user. Called on the session's event loop; must not block.
   */
  void opened(NotificationSink session);

  /**
   * The device of {@code session} set a status (stored): receipts that waited for its first status
   * are decided now. Called on the session's event loop; must not block.
   */
  default void statusSet(NotificationSink session) {}

  /** Session {@code session} closed: what waited for its status is dropped. */
  default void closed(UUID session) {}

  /**
   * {@code user} acted on ({@code acted}) or dismissed the notifications {@code ids}. Completes
   * with the ids that are unknown for the user (never delivered to them here, or past their ttl).
   */
  CompletionStage<List<String>> answered(String user, List<String> ids, boolean acted);
}
