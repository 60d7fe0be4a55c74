package org.presence.store.queue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * The live-notification FIFOs: one per (user, application), at most {@link #CAPACITY} items; when
 * full, the oldest is dropped before the new one is added (wiki section 6). An enqueue completes
 * only once the item is durably stored, so the app's acknowledgement is a guarantee.
 *
 * <p>Three implementations: {@link JournalNotificationQueues} (the embedded default: memory and a
 * journal file), {@link JdbiNotificationQueues} (PostgreSQL for a single node; also the embedded H2
 * file) and {@link RedisNotificationQueues} (the cluster). One contract suite runs against all.
 */
public interface NotificationQueues {
  /** Items per (user, application) queue. */
  int CAPACITY = 100;

  /**
   * The default bound of what one application may have queued, over all its users ({@code
   * notifications.max-queued-per-app}): far above what an application whose users connect holds
   * (docs/notifications.md says how to size it).
   */
  long DEFAULT_MAX_QUEUED_PER_APP = 1_000_000;

  /** One item to enqueue for a user. */
  record Entry(String userSub, Notification notification) {}

  /**
   * The outcome of one enqueue.
   *
   * @param queueSize the size of the (user, app) queue after the item was added (0 when it was not)
   * @param dropped the oldest items dropped to make room (empty unless the queue was full)
   * @param appFull the item was not stored: its application already had the store's limit of items
   *     queued, over all its users ({@link #APP_FULL})
   */
  record Enqueued(int queueSize, List<Notification> dropped, boolean appFull) {
    /** An item refused because its application has its limit of items queued. */
    public static final Enqueued APP_FULL = new Enqueued(0, List.of(), true);

    /** A stored item. */
    public Enqueued(int queueSize, List<Notification> dropped) {
      this(queueSize, dropped, false);
    }

    /** Whether the item was stored. */
    public boolean stored() {
      return !appFull;
    }
  }

  /** Adds one item; completes once it is stored. */
  default CompletionStage<Enqueued> enqueue(String userSub, Notification notification) {
    return enqueueAll(List.of(new Entry(userSub, notification))).thenApply(list -> list.get(0));
  }

  /**
   * Adds several items (a batch from one app), each to its user's queue, in order; the results are
   * in the same order. Completes once all are stored.
   *
   * <p>Each application may have at most the store's limit of items queued, over all its users
   * ({@code notifications.max-queued-per-app}): an item beyond it is not stored and its result is
   * {@link Enqueued#APP_FULL}; the application's earlier items in the call are stored first, as far
   * as the limit lets them. The embedded journal and {@link JdbiNotificationQueues} (PostgreSQL)
   * count exactly; Redis counts an upper bound (see {@link RedisNotificationQueues}). An item that
   * would push an older one out of a full queue needs room too.
   */
  CompletionStage<List<Enqueued>> enqueueAll(List<Entry> entries);

  /** Everything waiting for a user, all applications, oldest first within each application. */
  CompletionStage<List<Notification>> pending(String userSub);

  /**
   * Which of {@code userSubs} have at least one item waiting, asked for many users at once (one
   * call per Redis primary, one query): a node that may have missed wake-ups asks this first and
   * reads only those users' queues ({@link #pending}), since most queues are empty most of the
   * time. An item queued after the answer was read is not in it; its wake-up reaches the session.
   */
  CompletionStage<Set<String>> withItems(Collection<String> userSubs);

  /**
   * Removes delivered items, by application and id. Ids no longer queued (already removed, or
   * dropped) are ignored. Completes with the items actually removed, by application. One user's
   * {@link #removeAll}.
   */
  default CompletionStage<List<Notification>> remove(
      String userSub, Map<Long, ? extends Collection<String>> idsByApp) {
    return removeAll(Map.of(userSub, idsByApp))
        .thenApply(
            m -> {
              List<Notification> removed = new ArrayList<>(m.getOrDefault(userSub, List.of()));
              removed.sort(Comparator.comparingLong(Notification::appId));
              return removed;
            });
  }

  /**
   * Removes delivered items of several users at once: what {@link #remove} does for each, as one
   * transaction (one script in Redis), so a node acknowledging many deliveries costs one round
   * trip. Completes with the items actually removed, by user (users with none are absent).
   */
  CompletionStage<Map<String, List<Notification>>> removeAll(
      Map<String, ? extends Map<Long, ? extends Collection<String>>> idsByUser);

  /**
   * {@link #removeAll} for items the caller read from these queues (a node removing what it
   * delivered), named by the items themselves rather than their ids: completes with those of them
   * that were still queued, by user (users with none are absent). A store may use what the items
   * hold (their creation times) instead of reading them back: Redis then returns ids alone.
   */
  default CompletionStage<Map<String, List<Notification>>> removeDelivered(
      Map<String, ? extends Collection<Notification>> itemsByUser) {
    Map<String, Map<Long, List<String>>> ids = new HashMap<>();
    itemsByUser.forEach(
        (user, items) -> {
          for (Notification n : items) {
            ids.computeIfAbsent(user, u -> new HashMap<>())
                .computeIfAbsent(n.appId(), a -> new ArrayList<>())
                .add(n.id());
          }
        });
    return removeAll(ids);
  }

  /**
   * Records the first answer (acted on, dismissed) to notification {@code id}, shared by all nodes:
   * completes with {@code true} for the first claim, {@code false} for every later one. The claim
   * is kept until {@code expiresAt}, the notification's ttl, after which it cannot be answered
   * anyway.
   */
  CompletionStage<Boolean> claimAnswer(String id, Instant expiresAt);

  /** Forgets answer claims that expired before {@code now}; completes with how many. */
  CompletionStage<Integer> purgeAnswers(Instant now);

  /** How many items wait in the (user, app) queue. */
  CompletionStage<Integer> size(String userSub, long appId);

  /** Empties the (user, app) queue (the grant was revoked); completes with what was dropped. */
  CompletionStage<List<Notification>> clear(String userSub, long appId);

  /**
   * Drops, with whatever they hold, at most {@code limit} (user, app) queues to which nothing was
   * pushed since {@code before} (the newest item's {@link Notification#createdAt}): the queues of
   * users who never connect again (a device that connects takes every item). Completes with how
   * many queues it dropped; dropped items get no receipt. A queue pushed to since {@code before} is
   * kept whole, even while the sweep runs, and several callers at once are harmless. In Redis the
   * queues expire by themselves ({@code PEXPIRE} at every push, for the store's {@link
   * org.presence.store.config.StoreConfig#queueRetention()}): there this does nothing.
   */
  CompletionStage<Integer> expireIdle(Instant before, int limit);
}
