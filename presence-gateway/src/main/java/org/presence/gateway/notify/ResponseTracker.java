package org.presence.gateway.notify;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.presence.store.queue.Notification;

/**
 * The live notifications this node wrote to devices and that may still be answered: written in time
 * (not missed) and not past their ttl. A device's acknowledge or dismiss names ids; an id is known
 * when this node delivered it to that user and its ttl has not passed. The first answer of an id
 * counts (its receipt, if asked for, goes out once); later answers to it, from another device of
 * the user say, are accepted and change nothing.
 *
 * <p>Bounded: at most {@code capacity} ids, in 16 stripes by id hash, each dropping its oldest
 * entry when full; expired entries go at the next {@link #sweep} (and are never reported as known).
 * Every call holds one stripe's lock for a few map operations, so event loops may call it.
 */
final class ResponseTracker {
  private static final int STRIPES = 16;

  /** A delivered notification awaiting an answer. */
  static final class Tracked {
    final String id;
    final String user;
    final long appId;
    final String puid;
    final long expiresAt;
    final boolean receipts;
    boolean answered;

    Tracked(String user, Notification n) {
      this.id = n.id();
      this.user = user;
      this.appId = n.appId();
      this.puid = n.puid();
      this.expiresAt = n.expiresAt().toEpochMilli();
      this.receipts = n.receipts();
    }
  }

  private final Stripe[] stripes = new Stripe[STRIPES];

  ResponseTracker(int capacity) {
    int per = Math.max(1, capacity / STRIPES);
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new Stripe(per);
    }
  }

  private Stripe stripe(String id) {
    return stripes[(id.hashCode() & 0x7fffffff) % STRIPES];
  }

  /** {@code user} was sent {@code n} at {@code nowMillis}; tracked unless it was missed. */
  void delivered(String user, Notification n, long nowMillis) {
    if (n.expiresAt().toEpochMilli() <= nowMillis) {
      return;
    }
    Stripe s = stripe(n.id());
    synchronized (s) {
      s.putIfAbsent(n.id(), new Tracked(user, n));
    }
  }

  /**
   * {@code user} answers {@code ids} at {@code nowMillis}. Returns the unknown ids in {@code
   * unknown} and, for each id answered here for the first time, its entry (to send its receipt).
   */
  List<Tracked> answer(String user, List<String> ids, long nowMillis, List<String> unknown) {
    List<Tracked> first = new ArrayList<>();
    for (String id : ids) {
      Stripe s = stripe(id);
      synchronized (s) {
        Tracked t = s.get(id);
        if (t == null || !t.user.equals(user) || t.expiresAt <= nowMillis) {
          unknown.add(id);
        } else if (!t.answered) {
          t.answered = true;
          first.add(t);
        }
      }
    }
    return first;
  }

  /** Drops entries past their ttl at {@code nowMillis}. */
  void sweep(long nowMillis) {
    for (Stripe s : stripes) {
      synchronized (s) {
        Iterator<Tracked> it = s.values().iterator();
        while (it.hasNext()) {
          if (it.next().expiresAt <= nowMillis) {
            it.remove();
          }
        }
      }
    }
  }

  /** Entries held, for metrics and tests. */
  int size() {
    int n = 0;
    for (Stripe s : stripes) {
      synchronized (s) {
        n += s.size();
      }
    }
    return n;
  }

  /** One stripe: insertion-ordered, dropping its eldest entry beyond its share. */
  private static final class Stripe extends LinkedHashMap<String, Tracked> {
    private final int capacity;

    Stripe(int capacity) {
      super(16, 0.75f, false);
      this.capacity = capacity;
    }

    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Tracked> eldest) {
      return size() > capacity;
    }
  }
}
