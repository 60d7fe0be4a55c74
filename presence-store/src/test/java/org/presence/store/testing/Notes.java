package org.presence.store.testing;

import java.time.Instant;
import java.util.UUID;
import org.presence.store.queue.Notification;
import org.presence.store.queue.NotificationQueues;

/** Notifications to queue in tests. */
public final class Notes {
  private Notes() {}

  /** A new item of application 7 for {@code user}, saying {@code message}, for ten minutes. */
  public static NotificationQueues.Entry entry(String user, String message) {
    Instant now = Instant.now();
    return new NotificationQueues.Entry(
        user,
        new Notification(
            UUID.randomUUID().toString().replace("-", ""),
            7,
            "puid-7",
            "App 7",
            message,
            "https://app7.example/open",
            now,
            now.plusSeconds(600),
            false));
  }
}
