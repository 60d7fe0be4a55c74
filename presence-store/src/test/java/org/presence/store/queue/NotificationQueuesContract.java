package org.presence.store.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link NotificationQueues} must have. Runs against the embedded journal
 * ({@code JournalNotificationQueuesTest}), the embedded database ({@code
 * JdbiNotificationQueuesTest}), PostgreSQL ({@code PostgresNotificationQueuesIT}) and Redis ({@code
 * RedisNotificationQueuesIT}).
 */
public abstract class NotificationQueuesContract {
  protected NotificationQueues queues;

  /** Opens the implementation over empty (or, on {@link #reopen}, the same) storage. */
  protected abstract NotificationQueues open();

  /** Closes what {@link #open} opened. */
  protected abstract void close();

  @BeforeEach
  void openQueues() {
    queues = open();
  }

  @AfterEach
  void closeQueues() {
    close();
  }

  /** Closes and opens again over the same storage: what was acknowledged must still be there. */
  protected void reopen() {
    close();
    queues = open();
  }

  protected static <T> T await(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.MILLIS);

  protected static Notification note(long appId, String message) {
    return new Notification(
        UUID.randomUUID().toString().replace("-", ""),
        appId,
        "puid-" + appId,
        "App " + appId,
        message,
        "https://app" + appId + ".example/open",
        NOW,
        NOW.plusSeconds(60),
        false);
  }

  private static String user() {
    return "user-" + UUID.randomUUID();
  }

  /** {@link #note} as stored at {@code at}. */
  protected static Notification noteAt(long appId, String message, Instant at) {
    Notification n = note(appId, message);
    return new Notification(
        n.id(),
        n.appId(),
        n.puid(),
        n.source(),
        n.message(),
        n.action(),
        at,
        at.plusSeconds(60),
        n.receipts());
  }

  /**
   * Closes what {@link #open} opened and opens the implementation again over the same storage,
   * refusing an application's items beyond {@code maxQueuedPerApp}; null when it has no such limit
   * (the test is then skipped).
   */
  protected NotificationQueues reopenCapped(long maxQueuedPerApp) {
    return null;
  }

  /** An application id no other test uses (Redis keeps one count per application). */
  protected static long freshApp() {
    return 1_000_000 + Math.floorMod(UUID.randomUUID().getLeastSignificantBits(), 1_000_000_000L);
  }

  private static List<NotificationQueues.Entry> entries(String user, Notification... items) {
    List<NotificationQueues.Entry> out = new ArrayList<>();
    for (Notification n : items) {
      out.add(new NotificationQueues.Entry(user, n));
    }
    return out;
  }

  @Test
  void perAppLimit_refusesItemsBeyondIt_overAllUsers_andRoomComesBackAsItemsLeave() {
    NotificationQueues capped = reopenCapped(5);
    org.junit.jupiter.api.Assumptions.assumeTrue(capped != null, "no per-application limit");
    queues = capped;
    long app = freshApp();
    long other = freshApp();
    String a = user();
    String b = user();
    String c = user();
    Notification a1 = note(app, "a1");
    Notification a2 = note(app, "a2");
    Notification a3 = note(app, "a3");
    assertThat(await(queues.enqueueAll(entries(a, a1, a2, a3))))
        .allMatch(NotificationQueues.Enqueued::stored);
    // Another user of the same application: two fit, the rest of the batch is refused; another
    // application's items in the same call are not.
    List<NotificationQueues.Entry> mixed = new ArrayList<>();
    mixed.add(new NotificationQueues.Entry(b, note(app, "b1")));
    mixed.add(new NotificationQueues.Entry(b, note(other, "o1")));
    mixed.add(new NotificationQueues.Entry(b, note(app, "b2")));
    mixed.add(new NotificationQueues.Entry(c, note(app, "c1")));
    mixed.add(new NotificationQueues.Entry(b, note(other, "o2")));
    mixed.add(new NotificationQueues.Entry(b, note(app, "b3")));
    List<NotificationQueues.Enqueued> got = await(queues.enqueueAll(mixed));
    assertThat(got)
        .extracting(NotificationQueues.Enqueued::stored)
        .containsExactly(true, true, true, false, true, false);
    assertThat(got.get(3)).isEqualTo(NotificationQueues.Enqueued.APP_FULL);
    assertThat(got.get(2).queueSize()).isEqualTo(2);
    // Refused items are nowhere.
    assertThat(await(queues.pending(c))).isEmpty();
    assertThat(await(queues.withItems(List.of(c)))).isEmpty();
    assertThat(await(queues.pending(b)))
        .extracting(Notification::message)
        .containsExactlyInAnyOrder("b1", "b2", "o1", "o2");
    assertThat(await(queues.enqueue(c, note(app, "c2"))))
        .isEqualTo(NotificationQueues.Enqueued.APP_FULL);

    // Two delivered: room for two more, not three.
    assertThat(await(queues.remove(a, Map.of(app, List.of(a1.id(), a2.id()))))).hasSize(2);
    assertThat(
            await(queues.enqueueAll(entries(c, note(app, "c3"), note(app, "c4"), note(app, "c5")))))
        .extracting(NotificationQueues.Enqueued::stored)
        .containsExactly(true, true, false);
    // A revoke (clear) gives back its items' room too.
    assertThat(await(queues.clear(b, app))).hasSize(2);
    assertThat(
            await(queues.enqueueAll(entries(a, note(app, "a4"), note(app, "a5"), note(app, "a6")))))
        .extracting(NotificationQueues.Enqueued::stored)
        .containsExactly(true, true, false);
    assertThat(await(queues.size(a, app))).isEqualTo(3);
    assertThat(await(queues.size(c, app))).isEqualTo(2);
  }

  /**
   * A node removing what it delivered ({@code removeDelivered}) gives back the items' room, also
   * when the items of one call span applications and users: the applications can store that many
   * again, not more.
   */
  @Test
  void perAppLimit_roomComesBackAsDeliveredItemsAreRemoved() {
    NotificationQueues capped = reopenCapped(3);
    org.junit.jupiter.api.Assumptions.assumeTrue(capped != null, "no per-application limit");
    queues = capped;
    long app = freshApp();
    long other = freshApp();
    String a = user();
    String b = user();
    Notification a1 = note(app, "a1");
    Notification a2 = note(app, "a2");
    Notification b1 = note(app, "b1");
    Notification o1 = note(other, "o1");
    Notification o2 = note(other, "o2");
    Notification o3 = note(other, "o3");
    assertThat(await(queues.enqueueAll(entries(a, a1, a2, o1, o2))))
        .allMatch(NotificationQueues.Enqueued::stored);
    assertThat(await(queues.enqueueAll(entries(b, b1, o3))))
        .allMatch(NotificationQueues.Enqueued::stored);
    assertThat(await(queues.enqueue(b, note(app, "full"))).stored()).isFalse();
    assertThat(await(queues.enqueue(b, note(other, "full"))).stored()).isFalse();

    // a1 twice (two sessions of the user asked), b1 under the wrong user: removed once, not at all.
    Map<String, List<Notification>> removed =
        await(queues.removeDelivered(Map.of(a, List.of(a1, o1, a1, b1), b, List.of(o3))));
    assertThat(removed).containsOnlyKeys(a, b);
    assertThat(removed.get(a)).containsExactlyInAnyOrder(a1, o1);
    assertThat(removed.get(b)).containsExactly(o3);

    assertThat(await(queues.enqueueAll(entries(b, note(app, "n1"), note(app, "n2")))))
        .extracting(NotificationQueues.Enqueued::stored)
        .containsExactly(true, false);
    assertThat(
            await(
                queues.enqueueAll(
                    entries(a, note(other, "n3"), note(other, "n4"), note(other, "n5")))))
        .extracting(NotificationQueues.Enqueued::stored)
        .containsExactly(true, true, false);
  }

  /**
   * A full queue's drop-oldest gives back the dropped item's room: an application at its limit
   * whose items push older ones out does not creep towards it.
   */
  @Test
  void perAppLimit_countsWhatAFullQueueDrops() {
    int limit = NotificationQueues.CAPACITY + 1;
    NotificationQueues capped = reopenCapped(limit);
    org.junit.jupiter.api.Assumptions.assumeTrue(capped != null, "no per-application limit");
    queues = capped;
    long app = freshApp();
    String full = user();
    List<NotificationQueues.Entry> fill = new ArrayList<>();
    for (int i = 0; i < NotificationQueues.CAPACITY; i++) {
      fill.add(new NotificationQueues.Entry(full, note(app, "f" + i)));
    }
    assertThat(await(queues.enqueueAll(fill))).allMatch(NotificationQueues.Enqueued::stored);
    // Three more into the full queue: each pushes one out (100 queued, never more).
    for (int i = 0; i < 3; i++) {
      NotificationQueues.Enqueued e = await(queues.enqueue(full, note(app, "more" + i)));
      assertThat(e.stored()).isTrue();
      assertThat(e.dropped()).hasSize(1);
    }
    // So one more fits elsewhere (101), and then none.
    assertThat(await(queues.enqueue(user(), note(app, "elsewhere"))).stored()).isTrue();
    assertThat(await(queues.enqueue(user(), note(app, "beyond"))).stored()).isFalse();
  }

  /**
   * Concurrent batches of one application take its room in turns. Four batches of 30 items (one
   * user each), half for an application with nothing queued yet and half for one with an item
   * queued, both limited to 20: between them they store 20 and 19, never more, each batch an
   * application's earlier items first; what they stored is what is queued, and nothing more fits.
   */
  @Test
  void perAppLimit_concurrentBatchesOfOneApplication_neverStoreMoreThanIt() {
    int limit = 20;
    NotificationQueues capped = reopenCapped(limit);
    org.junit.jupiter.api.Assumptions.assumeTrue(capped != null, "no per-application limit");
    queues = capped;
    long fresh = freshApp();
    long seeded = freshApp();
    assertThat(await(queues.enqueue(user(), note(seeded, "first"))).stored()).isTrue();
    Map<Long, List<String>> users = Map.of(fresh, new ArrayList<>(), seeded, new ArrayList<>());
    List<CompletableFuture<List<NotificationQueues.Enqueued>>> batches = new ArrayList<>();
    List<List<NotificationQueues.Entry>> sent = new ArrayList<>();
    for (int b = 0; b < 4; b++) {
      List<NotificationQueues.Entry> batch = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        long app = i % 2 == 0 ? fresh : seeded;
        String u = user();
        users.get(app).add(u);
        batch.add(new NotificationQueues.Entry(u, note(app, b + ":" + i)));
      }
      sent.add(batch);
      batches.add(queues.enqueueAll(batch).toCompletableFuture());
    }
    Map<Long, Integer> stored = new java.util.HashMap<>(Map.of(fresh, 0, seeded, 0));
    for (int b = 0; b < batches.size(); b++) {
      List<NotificationQueues.Enqueued> got = await(batches.get(b));
      for (long app : List.of(fresh, seeded)) {
        List<Boolean> mine = new ArrayList<>();
        for (int i = 0; i < got.size(); i++) {
          if (sent.get(b).get(i).notification().appId() == app) {
            mine.add(got.get(i).stored());
          }
        }
        int n = (int) mine.stream().filter(x -> x).count();
        assertThat(mine.subList(0, n)).as("the batch's earlier items first").doesNotContain(false);
        stored.merge(app, n, Integer::sum);
      }
    }
    assertThat(stored).isEqualTo(Map.of(fresh, limit, seeded, limit - 1));
    assertThat(await(queues.withItems(users.get(fresh)))).hasSize(limit);
    assertThat(await(queues.withItems(users.get(seeded)))).hasSize(limit - 1);
    assertThat(await(queues.enqueue(user(), note(fresh, "late"))).stored()).isFalse();
    assertThat(await(queues.enqueue(user(), note(seeded, "late"))).stored()).isFalse();
  }

  /** Whether queues expire by themselves (Redis) instead of through {@link #expireIdle}. */
  protected boolean expiresByItself() {
    return false;
  }

  @Test
  void expireIdle_dropsOnlyQueuesNothingWasPushedToSinceTheCutoff() {
    org.junit.jupiter.api.Assumptions.assumeFalse(expiresByItself(), "Redis: PEXPIRE");
    String idle = user();
    String busy = user();
    String gone = user();
    Instant longAgo = NOW.minus(java.time.Duration.ofDays(40));
    Instant cutoff = NOW.minus(java.time.Duration.ofDays(30));
    // idle: two old items in app 31 and one in app 32; busy: an old item, then a recent one.
    await(queues.enqueue(idle, noteAt(31, "old-1", longAgo)));
    await(queues.enqueue(idle, noteAt(31, "old-2", longAgo.plusSeconds(1))));
    await(queues.enqueue(idle, noteAt(32, "old-3", longAgo)));
    await(queues.enqueue(busy, noteAt(31, "old-4", longAgo)));
    await(queues.enqueue(busy, noteAt(31, "new", NOW)));
    // gone: an old queue that was then read and emptied (its head, if any, is still idle).
    Notification read = noteAt(33, "read", longAgo);
    await(queues.enqueue(gone, read));
    await(queues.remove(gone, Map.of(33L, List.of(read.id()))));

    int first = await(queues.expireIdle(cutoff, 1));
    assertThat(first).isEqualTo(1);
    int rest = await(queues.expireIdle(cutoff, 100));
    assertThat(await(queues.pending(idle))).isEmpty();
    assertThat(await(queues.withItems(List.of(idle, busy, gone)))).containsExactly(busy);
    assertThat(await(queues.pending(busy)))
        .extracting(Notification::message)
        .containsExactly("old-4", "new");
    assertThat(first + rest).isBetween(2, 3); // the two idle queues, and gone's empty head if kept
    assertThat(await(queues.expireIdle(cutoff, 100))).isZero();

    // A queue emptied by the sweep takes new items as a new one.
    await(queues.enqueue(idle, note(31, "back")));
    assertThat(await(queues.pending(idle)))
        .extracting(Notification::message)
        .containsExactly("back");
    // What the sweep did is kept across a restart.
    reopen();
    assertThat(await(queues.pending(idle)))
        .extracting(Notification::message)
        .containsExactly("back");
    assertThat(await(queues.size(busy, 31))).isEqualTo(2);
  }

  @Test
  void enqueue_returnsQueueSizeAndKeepsOrder() {
    String u = user();
    assertThat(await(queues.enqueue(u, note(1, "a"))).queueSize()).isEqualTo(1);
    assertThat(await(queues.enqueue(u, note(1, "b"))).queueSize()).isEqualTo(2);
    NotificationQueues.Enqueued third = await(queues.enqueue(u, note(1, "c")));
    assertThat(third.queueSize()).isEqualTo(3);
    assertThat(third.dropped()).isEmpty();
    assertThat(await(queues.pending(u)))
        .extracting(Notification::message)
        .containsExactly("a", "b", "c");
    assertThat(await(queues.size(u, 1))).isEqualTo(3);
  }

  @Test
  void enqueue_whenFull_dropsTheOldestFirst() {
    String u = user();
    List<Notification> sent = new ArrayList<>();
    for (int i = 0; i < NotificationQueues.CAPACITY; i++) {
      Notification n = note(7, "m" + i);
      sent.add(n);
      assertThat(await(queues.enqueue(u, n)).dropped()).isEmpty();
    }
    NotificationQueues.Enqueued over = await(queues.enqueue(u, note(7, "m100")));
    assertThat(over.queueSize()).isEqualTo(NotificationQueues.CAPACITY);
    assertThat(over.dropped()).containsExactly(sent.get(0));
    NotificationQueues.Enqueued over2 = await(queues.enqueue(u, note(7, "m101")));
    assertThat(over2.dropped()).containsExactly(sent.get(1));
    List<Notification> pending = await(queues.pending(u));
    assertThat(pending).hasSize(NotificationQueues.CAPACITY);
    assertThat(pending.get(0).message()).isEqualTo("m2");
    assertThat(pending.get(pending.size() - 1).message()).isEqualTo("m101");
  }

  @Test
  void queues_arePerUserAndApp() {
    String u = user();
    String v = user();
    for (int i = 0; i < NotificationQueues.CAPACITY; i++) {
      await(queues.enqueue(u, note(1, "x" + i)));
    }
    assertThat(await(queues.enqueue(u, note(2, "other app"))).queueSize()).isEqualTo(1);
    assertThat(await(queues.enqueue(v, note(1, "other user"))).queueSize()).isEqualTo(1);
    assertThat(await(queues.size(u, 1))).isEqualTo(100);
    assertThat(await(queues.pending(u))).hasSize(101);
    assertThat(await(queues.pending(v)))
        .extracting(Notification::message)
        .containsExactly("other user");
  }

  @Test
  void enqueueAll_storesABatchInOrderWithOneResultEach() {
    String u = user();
    String v = user();
    List<NotificationQueues.Entry> batch =
        List.of(
            new NotificationQueues.Entry(u, note(3, "1")),
            new NotificationQueues.Entry(v, note(3, "2")),
            new NotificationQueues.Entry(u, note(3, "3")),
            new NotificationQueues.Entry(u, note(4, "4")));
    assertThat(await(queues.enqueueAll(batch)))
        .extracting(NotificationQueues.Enqueued::queueSize)
        .containsExactly(1, 1, 2, 1);
    assertThat(await(queues.pending(u)))
        .extracting(Notification::message)
        .containsExactly("1", "3", "4");
  }

  @Test
  void enqueueAll_severalItemsForOneFullQueue_dropTheOldestOneByOne() {
    String u = user();
    List<Notification> sent = new ArrayList<>();
    for (int i = 0; i < NotificationQueues.CAPACITY - 2; i++) {
      Notification n = note(16, "m" + i);
      sent.add(n);
      await(queues.enqueue(u, n));
    }
    // Four items for the queue of 98 and one for another app, in one batch: the third and fourth
    // each drop one of the oldest, as four enqueues one after the other would.
    List<Notification> more = new ArrayList<>();
    List<NotificationQueues.Entry> batch = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      Notification n = note(16, "n" + i);
      more.add(n);
      batch.add(new NotificationQueues.Entry(u, n));
      if (i == 1) {
        batch.add(new NotificationQueues.Entry(u, note(17, "other app")));
      }
    }
    List<NotificationQueues.Enqueued> got = await(queues.enqueueAll(batch));
    assertThat(got)
        .extracting(NotificationQueues.Enqueued::queueSize)
        .containsExactly(99, 100, 1, 100, 100);
    assertThat(got.get(0).dropped()).isEmpty();
    assertThat(got.get(1).dropped()).isEmpty();
    assertThat(got.get(2).dropped()).isEmpty();
    assertThat(got.get(3).dropped()).containsExactly(sent.get(0));
    assertThat(got.get(4).dropped()).containsExactly(sent.get(1));
    List<Notification> pending =
        await(queues.pending(u)).stream().filter(n -> n.appId() == 16).toList();
    assertThat(pending).hasSize(NotificationQueues.CAPACITY);
    assertThat(pending.get(0)).isEqualTo(sent.get(2));
    assertThat(pending.subList(96, 100)).containsExactlyElementsOf(more);

    // A batch larger than a queue: its own first items are dropped by its last ones.
    String v = user();
    List<NotificationQueues.Entry> big = new ArrayList<>();
    for (int i = 0; i < NotificationQueues.CAPACITY + 2; i++) {
      big.add(new NotificationQueues.Entry(v, note(18, "b" + i)));
    }
    List<NotificationQueues.Enqueued> bigGot = await(queues.enqueueAll(big));
    assertThat(bigGot.get(NotificationQueues.CAPACITY - 1).dropped()).isEmpty();
    assertThat(bigGot.get(NotificationQueues.CAPACITY).dropped())
        .containsExactly(big.get(0).notification());
    assertThat(bigGot.get(NotificationQueues.CAPACITY + 1).dropped())
        .containsExactly(big.get(1).notification());
    assertThat(bigGot.get(NotificationQueues.CAPACITY + 1).queueSize())
        .isEqualTo(NotificationQueues.CAPACITY);
    assertThat(await(queues.pending(v)).get(0)).isEqualTo(big.get(2).notification());
  }

  @Test
  void remove_fromTheHeadTheMiddleAndTheTail_keepsTheOthersInOrder() {
    String u = user();
    List<Notification> sent = new ArrayList<>();
    List<NotificationQueues.Entry> batch = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      Notification n = note(19, "q" + i);
      sent.add(n);
      batch.add(new NotificationQueues.Entry(u, n));
    }
    await(queues.enqueueAll(batch));
    // The head (the usual delivery), then one item inside, then several apart, then the rest.
    assertThat(await(queues.remove(u, Map.of(19L, List.of(sent.get(1).id(), sent.get(0).id())))))
        .containsExactlyInAnyOrder(sent.get(0), sent.get(1));
    assertThat(await(queues.pending(u))).containsExactlyElementsOf(sent.subList(2, 7));
    assertThat(await(queues.remove(u, Map.of(19L, List.of(sent.get(4).id())))))
        .containsExactly(sent.get(4));
    assertThat(await(queues.pending(u)))
        .containsExactly(sent.get(2), sent.get(3), sent.get(5), sent.get(6));
    assertThat(await(queues.remove(u, Map.of(19L, List.of(sent.get(3).id(), sent.get(6).id())))))
        .containsExactlyInAnyOrder(sent.get(3), sent.get(6));
    assertThat(await(queues.pending(u))).containsExactly(sent.get(2), sent.get(5));
    await(queues.enqueue(u, note(19, "later")));
    assertThat(await(queues.remove(u, Map.of(19L, List.of(sent.get(2).id(), sent.get(5).id())))))
        .containsExactlyInAnyOrder(sent.get(2), sent.get(5));
    assertThat(await(queues.pending(u))).extracting(Notification::message).containsExactly("later");
    assertThat(await(queues.size(u, 19))).isEqualTo(1);
  }

  @Test
  void remove_takesOnlyTheNamedItems() {
    String u = user();
    Notification a = note(5, "a");
    Notification b = note(5, "b");
    Notification c = note(6, "c");
    await(
        queues.enqueueAll(
            List.of(
                new NotificationQueues.Entry(u, a),
                new NotificationQueues.Entry(u, b),
                new NotificationQueues.Entry(u, c))));
    List<Notification> removed =
        await(queues.remove(u, Map.of(5L, List.of(a.id(), "no-such-id"), 6L, List.of(b.id()))));
    assertThat(removed).containsExactly(a);
    assertThat(await(queues.pending(u))).containsExactly(b, c);
    assertThat(await(queues.remove(u, Map.of(5L, List.of(a.id()))))).isEmpty();
    assertThat(await(queues.remove(user(), Map.of(5L, List.of(b.id()))))).isEmpty();
    assertThat(await(queues.pending(u))).containsExactly(b, c);
    await(queues.remove(u, Map.of(5L, Set.of(b.id()), 6L, Set.of(c.id()))));
    assertThat(await(queues.pending(u))).isEmpty();
  }

  @Test
  void removeAll_takesTheNamedItemsOfSeveralUsersAtOnce() {
    String u = user();
    String v = user();
    Notification a = note(14, "a");
    Notification b = note(14, "b");
    Notification c = note(15, "c");
    Notification d = note(14, "d");
    await(
        queues.enqueueAll(
            List.of(
                new NotificationQueues.Entry(u, a),
                new NotificationQueues.Entry(u, b),
                new NotificationQueues.Entry(u, c),
                new NotificationQueues.Entry(v, d))));
    Map<String, List<Notification>> removed =
        await(
            queues.removeAll(
                Map.of(
                    u,
                    Map.of(14L, List.of(a.id(), "gone"), 15L, List.of(c.id())),
                    v,
                    Map.of(14L, List.of(d.id(), a.id())),
                    user(),
                    Map.of(14L, List.of(b.id())))));
    assertThat(removed).containsOnlyKeys(u, v);
    assertThat(removed.get(u)).containsExactlyInAnyOrder(a, c);
    assertThat(removed.get(v)).containsExactly(d);
    assertThat(await(queues.pending(u))).containsExactly(b);
    assertThat(await(queues.pending(v))).isEmpty();
    assertThat(await(queues.removeAll(Map.of(u, Map.of(14L, List.of(a.id())))))).isEmpty();
    assertThat(await(queues.removeAll(Map.of()))).isEmpty();
  }

  /**
   * {@code removeDelivered} takes the given items still queued, of several users at once, and
   * returns them: not an item already removed, one queued for another user, or one named twice
   * twice; what it did not name stays in order.
   */
  @Test
  void removeDelivered_takesTheGivenItemsStillQueued_andReturnsThem() {
    String u = user();
    String v = user();
    Notification a = note(24, "a");
    Notification b = note(24, "b");
    Notification c = note(25, "c");
    Notification d = note(24, "d");
    Notification e = note(24, "e");
    await(queues.enqueueAll(entries(u, a, b, c, e)));
    await(queues.enqueue(v, d));
    Notification never = note(24, "never queued");
    Map<String, List<Notification>> removed =
        await(
            queues.removeDelivered(
                Map.of(u, List.of(a, never, c, a, e), v, List.of(d, b), user(), List.of(b))));
    assertThat(removed).containsOnlyKeys(u, v);
    assertThat(removed.get(u)).containsExactlyInAnyOrder(a, c, e);
    assertThat(removed.get(v)).containsExactly(d);
    assertThat(await(queues.pending(u))).containsExactly(b);
    assertThat(await(queues.pending(v))).isEmpty();
    assertThat(await(queues.withItems(List.of(u, v)))).containsExactly(u);
    assertThat(await(queues.removeDelivered(Map.of(u, List.of(a))))).isEmpty();
    assertThat(await(queues.removeDelivered(Map.of()))).isEmpty();
    assertThat(await(queues.removeDelivered(Map.of(u, List.of(b)))))
        .isEqualTo(Map.of(u, List.of(b)));
    assertThat(await(queues.withItems(List.of(u)))).isEmpty();
  }

  /**
   * Of 60 users (over many slots on a Redis Cluster), {@code withItems} names exactly those with
   * something queued: one item, items of two applications, a queue emptied by its delivery or by a
   * revoked grant, never a queue; a user named twice is named once.
   */
  @Test
  void withItems_namesTheUsersWithSomethingQueued() {
    List<String> users = new ArrayList<>();
    Set<String> expected = new java.util.HashSet<>();
    for (int i = 0; i < 60; i++) {
      String u = user();
      users.add(u);
      switch (i % 5) {
        case 0 -> {
          await(queues.enqueue(u, note(21, "one")));
          expected.add(u);
        }
        case 1 -> {
          await(queues.enqueue(u, note(21, "a")));
          await(queues.enqueue(u, note(22, "b")));
          expected.add(u);
        }
        case 2 -> {
          Notification n = note(21, "delivered");
          await(queues.enqueue(u, n));
          await(queues.remove(u, Map.of(21L, List.of(n.id()))));
        }
        case 3 -> {
          await(queues.enqueue(u, note(23, "revoked")));
          await(queues.clear(u, 23));
        }
        default -> {}
      }
    }
    users.add(users.get(0));
    assertThat(await(queues.withItems(users))).containsExactlyInAnyOrderElementsOf(expected);
    assertThat(await(queues.withItems(users.subList(2, 5)))).isEmpty();
    assertThat(await(queues.withItems(List.of()))).isEmpty();
  }

  @Test
  void claimAnswer_isWonOnce_andPurgedAfterItsTtl() {
    String id = "answer-" + UUID.randomUUID();
    String other = "answer-" + UUID.randomUUID();
    java.time.Instant later = Instant.now().plusSeconds(60);
    assertThat(await(queues.claimAnswer(id, later))).isTrue();
    assertThat(await(queues.claimAnswer(id, later))).isFalse();
    assertThat(await(queues.claimAnswer(other, later))).isTrue();
    List<CompletableFuture<Boolean>> racing =
        IntStream.range(0, 8)
            .mapToObj(i -> queues.claimAnswer("race-" + id, later).toCompletableFuture())
            .toList();
    assertThat(racing.stream().filter(f -> await(f)).count()).isEqualTo(1);
    // Purging before the ttl keeps the claims.
    await(queues.purgeAnswers(Instant.now()));
    assertThat(await(queues.claimAnswer(id, later))).isFalse();
    // After it, the claim is forgotten.
    String brief = "answer-" + UUID.randomUUID();
    assertThat(await(queues.claimAnswer(brief, Instant.now().plusMillis(200)))).isTrue();
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(10))
        .until(
            () -> {
              await(queues.purgeAnswers(Instant.now()));
              return await(queues.claimAnswer(brief, Instant.now().plusSeconds(60)));
            });
  }

  @Test
  void clear_emptiesOneQueue() {
    String u = user();
    Notification keep = note(9, "keep");
    await(queues.enqueue(u, note(8, "x")));
    await(queues.enqueue(u, note(8, "y")));
    await(queues.enqueue(u, keep));
    assertThat(await(queues.clear(u, 8)))
        .extracting(Notification::message)
        .containsExactly("x", "y");
    assertThat(await(queues.size(u, 8))).isZero();
    assertThat(await(queues.pending(u))).containsExactly(keep);
  }

  @Test
  void fields_surviveStorageExactly() {
    String u = user();
    String msg =
        "<script>alert('x')</script> \u00e9\u4e2d\ud83d\ude00 \"q\" \n\t" + "z".repeat(400);
    Notification n =
        new Notification(
            "id-" + UUID.randomUUID(),
            11,
            "q1Yc0XGmYHnX3Gc6Xv7R8Tz0aBcDeFgHiJkLmNoPqRs",
            "Beer <Chat>",
            msg,
            "beerchat://room/42?x=1&y=2",
            NOW,
            NOW.plusSeconds(5),
            true);
    await(queues.enqueue(u, n));
    assertThat(await(queues.pending(u))).containsExactly(n);
  }

  @Test
  void concurrentWriters_neverOverfillAQueue() {
    String u = user();
    List<CompletableFuture<List<NotificationQueues.Enqueued>>> writers =
        IntStream.range(0, 8)
            .mapToObj(
                w ->
                    queues
                        .enqueueAll(
                            IntStream.range(0, 30)
                                .mapToObj(
                                    i -> new NotificationQueues.Entry(u, note(12, w + ":" + i)))
                                .toList())
                        .toCompletableFuture())
            .toList();
    int dropped = 0;
    for (CompletableFuture<List<NotificationQueues.Enqueued>> w : writers) {
      for (NotificationQueues.Enqueued e : await(w)) {
        assertThat(e.queueSize()).isBetween(1, NotificationQueues.CAPACITY);
        dropped += e.dropped().size();
      }
    }
    assertThat(await(queues.size(u, 12))).isEqualTo(NotificationQueues.CAPACITY);
    assertThat(dropped).isEqualTo(8 * 30 - NotificationQueues.CAPACITY);
  }

  @Test
  void reopen_keepsWhatWasAcknowledged() {
    String u = user();
    Notification n = note(13, "durable");
    await(queues.enqueue(u, n));
    reopen();
    assertThat(await(queues.pending(u))).containsExactly(n);
  }
}
