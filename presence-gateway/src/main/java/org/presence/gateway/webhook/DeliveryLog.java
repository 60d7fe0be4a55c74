package org.presence.gateway.webhook;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * The recent webhook calls of each application that this node made, newest first, for the developer
 * portal: when, the answer's status (or why there was none), how long it took, how many users it
 * carried and whether it was a test call. Bounded: {@link #PER_APP} calls per application, {@link
 * #MAX_APPS} applications (the least recently called are forgotten first). In memory only: a
 * restart forgets it, and in a cluster each node knows the calls it made itself (the node holding
 * an application's webhook lease makes its calls).
 */
public final class DeliveryLog {
  /** Calls kept per application. */
  public static final int PER_APP = 20;

  /** Applications whose calls are kept. */
  public static final int MAX_APPS = 10_000;

  /**
   * One call.
   *
   * @param at when it started
   * @param status the answer's HTTP status, or 0 when there was none
   * @param failure why it failed without an answer (timeout, connection refused...), or empty
   * @param latencyMillis from the start to the answer or the failure
   * @param users the users (PUIDs) it carried
   * @param test whether it was a test call from the portal
   */
  public record Delivery(
      Instant at, int status, String failure, long latencyMillis, int users, boolean test) {
    /** Whether the endpoint took it (a 2xx answer). */
    public boolean ok() {
      return status >= 200 && status < 300;
    }
  }

  private final Cache<Long, Deque<Delivery>> calls =
      Caffeine.newBuilder().maximumSize(MAX_APPS).build();

  /** Adds a call of {@code appId}'s webhook, dropping its oldest beyond {@link #PER_APP}. */
  public void add(long appId, Delivery d) {
    Deque<Delivery> q = calls.get(appId, id -> new ArrayDeque<>(PER_APP));
    synchronized (q) {
      q.addFirst(d);
      while (q.size() > PER_APP) {
        q.removeLast();
      }
    }
  }

  /** {@code appId}'s recent calls on this node, newest first. */
  public List<Delivery> recent(long appId) {
    Deque<Delivery> q = calls.getIfPresent(appId);
    if (q == null) {
      return List.of();
    }
    synchronized (q) {
      return new ArrayList<>(q);
    }
  }
}
