package org.presence.store.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;
import org.presence.store.testing.PrivateRedis;
import org.presence.store.testing.Rounds;
import org.presence.store.testing.SlotMover;

/** {@link RedisNotificationQueuesIT}, every test of it, against a Redis Cluster. */
class RedisNotificationQueuesClusterIT extends RedisNotificationQueuesIT {
  /**
   * A batch is one call per primary, its keys spread over several slots. When the client's view of
   * the topology is wrong (a slot moved since), the primary refuses such a call before writing
   * anything, and the batch goes as one call per slot: here every slot is taken for one primary's,
   * so each call over keys of another primary is refused, and every item must still be stored
   * exactly once and removed, and the users with items named ({@code withItems}: a refused call
   * goes again as one {@code EXISTS} per user).
   */
  @Test
  void aCallThePrimaryRefuses_goesAgainAsOneCallPerSlot_storingEachItemOnce() {
    RedisNotificationQueues wrong = new RedisNotificationQueues(backend, slot -> "one primary");
    String run = "spread-" + System.nanoTime() + "-";
    List<NotificationQueues.Entry> batch = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      batch.add(new NotificationQueues.Entry(run + i, note(41, "m" + i)));
      batch.add(new NotificationQueues.Entry(run + i, note(42, "n" + i)));
    }
    List<NotificationQueues.Enqueued> stored = await(wrong.enqueueAll(batch));
    assertThat(stored).hasSize(60).allSatisfy(e -> assertThat(e.queueSize()).isEqualTo(1));
    Map<String, Map<Long, List<String>>> ids = new HashMap<>();
    for (int i = 0; i < 30; i++) {
      List<Notification> pending = await(wrong.pending(run + i));
      assertThat(pending)
          .extracting(Notification::message)
          .containsExactlyInAnyOrder("m" + i, "n" + i);
      Map<Long, List<String>> byApp = new HashMap<>();
      for (Notification n : pending) {
        byApp.computeIfAbsent(n.appId(), a -> new ArrayList<>()).add(n.id());
      }
      ids.put(run + i, byApp);
    }
    List<String> users = new ArrayList<>(ids.keySet());
    users.add("never-queued-" + run);
    assertThat(await(wrong.withItems(users))).containsExactlyInAnyOrderElementsOf(ids.keySet());
    Map<String, List<Notification>> removed = await(wrong.removeAll(ids));
    assertThat(removed).hasSize(30).allSatisfy((u, items) -> assertThat(items).hasSize(2));
    for (int i = 0; i < 30; i++) {
      assertThat(await(wrong.pending(run + i))).isEmpty();
    }
    assertThat(await(wrong.withItems(users))).isEmpty();
  }

  /**
   * {@code removeDelivered}'s call over several slots, refused by a primary that does not hold them
   * all, goes again as one call per slot: every delivered item is removed once and its room given
   * back (the capped applications can store as many again, not more).
   */
  @Test
  void removeDelivered_aCallThePrimaryRefuses_goesAgainPerSlot_andGivesTheRoomBack() {
    NotificationQueues capped = reopenCapped(20);
    RedisNotificationQueues wrong = new RedisNotificationQueues(backend, slot -> "one primary");
    long app = freshApp();
    String run = "spread-delivered-" + System.nanoTime() + "-";
    List<NotificationQueues.Entry> batch = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      batch.add(new NotificationQueues.Entry(run + i, note(app, "m" + i)));
    }
    assertThat(await(capped.enqueueAll(batch))).allMatch(NotificationQueues.Enqueued::stored);
    assertThat(await(capped.enqueue(run + "x", note(app, "full"))).stored()).isFalse();
    Map<String, List<Notification>> delivered = new HashMap<>();
    for (int i = 0; i < 20; i++) {
      delivered.put(run + i, await(wrong.pending(run + i)));
    }
    Map<String, List<Notification>> removed = await(wrong.removeDelivered(delivered));
    assertThat(removed).isEqualTo(delivered);
    for (int i = 0; i < 20; i++) {
      assertThat(await(wrong.pending(run + i))).isEmpty();
    }
    // wrong has the default limit: the room is given back in app's count, which capped reads.
    List<NotificationQueues.Entry> again = new ArrayList<>();
    for (int i = 0; i < 21; i++) {
      again.add(new NotificationQueues.Entry(run + "again-" + i, note(app, "a" + i)));
    }
    assertThat(await(capped.enqueueAll(again)))
        .extracting(NotificationQueues.Enqueued::stored)
        .containsOnlyOnce(false);
  }

  @BeforeAll
  static void requireCluster() {
    Backends.redisClusterUrl();
  }

  @Override
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redisCluster(keyPrefix);
  }

  /**
   * An operator moves the slot of some users' queues to another primary and back (live resharding,
   * a key at a time, so that a user's queue and set of queues are for a while on different
   * primaries) while batches for those users and for users of other slots of the same primary are
   * queued and delivered. Every batch is stored and every delivery removes its items, without an
   * error; each queue gives back its items once each, in the order they were queued. A private
   * three-primary cluster, so that the shared one keeps its slots.
   */
  @Test
  void itemsQueuedAndRemovedWhileTheirSlotMoves_areEachStoredAndRemovedOnceInOrder(
      @TempDir Path dir) throws Exception {
    try (PrivateRedis cluster = PrivateRedis.cluster(dir, null, null);
        SlotMover mover = new SlotMover(cluster.ports());
        RedisBackend r = cluster.clusterBackend("q:")) {
      movingSlotKeepsEveryItem(new RedisNotificationQueues(r), mover);
    }
  }

  /**
   * A device asks for its user's pending items while the user's slot is half moved: first with the
   * set of the user's queues on the new primary and the queues not yet, then, moving back, the
   * other way round. Each time every item comes back, once the keys are together again, and no
   * queue is forgotten (read as empty on the new primary and dropped from the set, its items then
   * never read again); asked which users have items meanwhile, the cluster answers at once and
   * names the user. A private three-primary cluster.
   */
  @Test
  void pendingWhileAUsersKeysAreApart_readsEveryQueue_andForgetsNone(@TempDir Path dir)
      throws Exception {
    try (PrivateRedis cluster = PrivateRedis.cluster(dir, null, null);
        SlotMover mover = new SlotMover(cluster.ports());
        RedisBackend r = cluster.clusterBackend("p:")) {
      RedisNotificationQueues queues = new RedisNotificationQueues(r);
      String user = "half-moved";
      List<String> messages = new ArrayList<>();
      List<String> queueKeys = new ArrayList<>();
      for (long app : new long[] {41, 42, 43}) {
        for (int i = 0; i < 2; i++) {
          messages.add(app + "-" + i);
          await(queues.enqueue(user, note(app, app + "-" + i)));
        }
        queueKeys.add("p:nq:{u:" + UserKeys.of(user) + "}:" + app);
      }
      List<String> set = List.of("p:nqa:{u:" + UserKeys.of(user) + "}");
      int slot = queueSlot(user);
      String none = sameSlotAs(user);
      int home = mover.ownerOf(slot);
      for (int to : List.of(mover.otherThan(slot), home)) {
        mover.begin(slot, to);
        for (String k : to == home ? queueKeys : set) {
          mover.migrate(slot, k);
        }
        java.util.concurrent.CompletableFuture<List<Notification>> asked =
            queues.pending(user).toCompletableFuture();
        // Which users have items, asked while the keys are apart, with a user of the same slot
        // who has none (a key on neither primary, so Redis refuses a call declaring both for as
        // long as the slot moves): answered right, at once, before the move ends.
        assertThat(
                queues
                    .withItems(List.of(user, none))
                    .toCompletableFuture()
                    .get(2, TimeUnit.SECONDS))
            .containsExactly(user);
        Thread.sleep(200);
        for (String k : to == home ? set : queueKeys) {
          mover.migrate(slot, k);
        }
        mover.finish(slot);
        assertThat(asked.get(10, TimeUnit.SECONDS))
            .extracting(Notification::message)
            .containsExactlyElementsOf(messages);
      }
      assertThat(await(queues.pending(user)))
          .extracting(Notification::message)
          .containsExactlyElementsOf(messages);
    }
  }

  /**
   * A batch's call over several slots of one primary asks it about a user's queue and set of queues
   * in one {@code EXISTS} (they share the user's hash tag). While that user's slot is being moved
   * away and only the set has gone, the primary refuses the call before writing anything, as it did
   * with one {@code EXISTS} per key: the other user's item is stored by its own slot's call, the
   * moving user's once the keys are together again, each once, and the moving user's set still
   * names the queue. (Asked about the queue alone, the call would push the item, then fail at the
   * set's expiry.) A private three-primary cluster.
   */
  @Test
  void aSpreadCallWhileAUsersQueueAndSetAreApart_writesNothingThere_andEachItemIsStoredOnce(
      @TempDir Path dir) throws Exception {
    try (PrivateRedis cluster = PrivateRedis.cluster(dir, null, null);
        SlotMover mover = new SlotMover(cluster.ports());
        RedisBackend r = cluster.clusterBackend("s:")) {
      RedisNotificationQueues queues = new RedisNotificationQueues(r);
      String user = "apart";
      int slot = queueSlot(user);
      int home = mover.ownerOf(slot);
      String other = null;
      for (int i = 0; other == null; i++) {
        int s = queueSlot("other-" + i);
        if (s != slot && mover.ownerOf(s) == home) {
          other = "other-" + i;
        }
      }
      await(queues.enqueue(user, note(41, "old")));
      mover.begin(slot, mover.otherThan(slot));
      mover.migrate(slot, "s:nqa:{u:" + UserKeys.of(user) + "}");
      java.util.concurrent.CompletableFuture<List<NotificationQueues.Enqueued>> stored =
          queues
              .enqueueAll(
                  List.of(
                      new NotificationQueues.Entry(user, note(41, "new")),
                      new NotificationQueues.Entry(other, note(41, "other's"))))
              .toCompletableFuture();
      Thread.sleep(300);
      mover.migrate(slot, "s:nq:{u:" + UserKeys.of(user) + "}:41");
      mover.finish(slot);
      assertThat(stored.get(10, TimeUnit.SECONDS))
          .extracting(NotificationQueues.Enqueued::queueSize)
          .containsExactly(2, 1);
      assertThat(await(queues.pending(user)))
          .extracting(Notification::message)
          .containsExactly("old", "new");
      assertThat(await(queues.pending(other)))
          .extracting(Notification::message)
          .containsExactly("other's");
      assertThat(await(queues.withItems(List.of(user, other)))).containsOnly(user, other);
    }
  }

  private static int queueSlot(String user) {
    return io.lettuce.core.cluster.SlotHash.getSlot("{u:" + UserKeys.of(user) + "}");
  }

  /** Another user whose keys are in {@code user}'s slot. */
  private static String sameSlotAs(String user) {
    int slot = queueSlot(user);
    for (int i = 0; ; i++) {
      if (queueSlot("slot-mate-" + i) == slot) {
        return "slot-mate-" + i;
      }
    }
  }

  private static void movingSlotKeepsEveryItem(RedisNotificationQueues queues, SlotMover mover)
      throws Exception {
    int slot = queueSlot("q0");
    int home = mover.ownerOf(slot);
    // The moving slot's users first: a batch's call over several slots is then sent for a key
    // of the moving slot.
    List<String> users = new ArrayList<>();
    List<String> elsewhere = new ArrayList<>();
    for (int i = 0; users.size() < 6 || elsewhere.size() < 6; i++) {
      String u = "q" + i;
      int s = queueSlot(u);
      if (s == slot && users.size() < 6) {
        users.add(u);
      } else if (s != slot && elsewhere.size() < 6 && mover.ownerOf(s) == home) {
        elsewhere.add(u);
      }
    }
    users.addAll(elsewhere);
    long[] apps = {41, 42};
    // Per user and application: the ids queued, and the ids removed, in order.
    Map<String, List<String>> queued = new HashMap<>();
    Map<String, List<String>> removed = new HashMap<>();
    List<String> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
    Rounds.during(
        "apps",
        round -> {
          List<NotificationQueues.Entry> batch = new ArrayList<>();
          for (String u : users) {
            for (long app : apps) {
              Notification n = note(app, "r" + round);
              batch.add(new NotificationQueues.Entry(u, n));
              queued.computeIfAbsent(u + "/" + app, k -> new ArrayList<>()).add(n.id());
            }
          }
          try {
            queues.enqueueAll(batch).toCompletableFuture().get(10, TimeUnit.SECONDS);
          } catch (Exception e) {
            failures.add("round " + round + ", queueing: " + e);
          }
          // Deliver what was queued three rounds ago.
          Map<String, Map<Long, List<String>>> ids = new HashMap<>();
          for (String u : users) {
            for (long app : apps) {
              List<String> mine = queued.get(u + "/" + app);
              if (mine.size() > 3) {
                ids.computeIfAbsent(u, k -> new HashMap<>())
                    .put(app, List.of(mine.get(mine.size() - 4)));
              }
            }
          }
          if (!ids.isEmpty()) {
            try {
              queues
                  .removeAll(ids)
                  .toCompletableFuture()
                  .get(10, TimeUnit.SECONDS)
                  .forEach(
                      (u, items) ->
                          items.forEach(
                              n ->
                                  removed
                                      .computeIfAbsent(u + "/" + n.appId(), k -> new ArrayList<>())
                                      .add(n.id())));
            } catch (Exception e) {
              failures.add("round " + round + ", delivering: " + e);
            }
          }
        },
        rounds -> mover.awayAndBack(slot, java.time.Duration.ofMillis(20), rounds));

    assertThat(failures).isEmpty();
    for (String u : users) {
      Map<Long, List<String>> left = new HashMap<>();
      for (Notification n : await(queues.pending(u))) {
        left.computeIfAbsent(n.appId(), k -> new ArrayList<>()).add(n.id());
      }
      for (long app : apps) {
        List<String> all = queued.get(u + "/" + app);
        List<String> gone = removed.getOrDefault(u + "/" + app, List.of());
        assertThat(gone)
            .as("%s's items for %d delivered", u, app)
            .isEqualTo(all.subList(0, gone.size()));
        assertThat(left.getOrDefault(app, List.of()))
            .as("%s's items for %d still queued", u, app)
            .isEqualTo(all.subList(gone.size(), all.size()));
      }
    }
  }
}
