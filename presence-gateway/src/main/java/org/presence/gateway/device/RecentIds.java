package org.presence.gateway.device;

import java.util.ArrayList;
import java.util.List;
import org.presence.gateway.connection.OnEventLoop;
import org.presence.store.queue.Notification;

/**
 * The ids of the last {@value #SIZE} notifications pushed to one session, a ring: an item that
 * reaches the session twice (by its connect and by a wake-up at the same moment) is written once.
 * One per session, made at its first push. Not thread-safe; used on the session's event loop.
 */
@OnEventLoop
final class RecentIds {
  /** Ids of pushed notifications remembered per session, to write each once. */
  static final int SIZE = 64;

  private final String[] ids = new String[SIZE];
  private final int[] hashes = new int[SIZE];
  private int next;

  /**
   * The items of {@code items} not pushed lately, in order, each now remembered; an empty list when
   * all were.
   */
  List<Notification> fresh(List<Notification> items) {
    List<Notification> fresh = new ArrayList<>(items.size());
    for (Notification n : items) {
      if (remember(n.id())) {
        fresh.add(n);
      }
    }
    return fresh;
  }

  /** Remembers a pushed id; false when it was pushed lately. */
  boolean remember(String id) {
    int h = id.hashCode();
    for (int i = 0; i < SIZE; i++) {
      if (hashes[i] == h && id.equals(ids[i])) {
        return false;
      }
    }
    ids[next] = id;
    hashes[next] = h;
    next = (next + 1) % SIZE;
    return true;
  }
}
