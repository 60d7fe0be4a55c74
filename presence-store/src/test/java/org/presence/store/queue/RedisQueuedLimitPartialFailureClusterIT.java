package org.presence.store.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.config.StoreConfig;
import org.presence.store.error.StoreException;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.RedisErrors;
import org.presence.store.testing.Backends;
import org.presence.store.testing.FullPrimary;
import org.presence.store.testing.Futures;

/**
 * The per-application limit on a Redis Cluster when a batch fails on one primary and not on
 * another: one primary is made full ({@link FullPrimary}: it refuses every write with {@code OOM}),
 * and the applications and users are picked by their slots so that exactly one of a batch's calls
 * goes to it. The room a batch leaves taken is then exactly what it left queued: what it took on
 * the primaries that answered is given back when the batch is refused whole (its room call failed
 * on the full primary), and only the room of what no call stored, with that of the items pushed out
 * of full queues, when its store call failed there. Each test checks the application's count (the
 * sum of its hash's buckets) and what a later batch may still queue under a small limit.
 */
class RedisQueuedLimitPartialFailureClusterIT {
  private String prefix;
  private RedisBackend backend;

  @BeforeEach
  void connect() {
    Backends.redisClusterUrl();
    prefix = Backends.uniquePrefix(getClass());
    backend = RedisBackend.connect(Backends.redisCluster(prefix));
  }

  @AfterEach
  void disconnect() {
    backend.close();
  }

  /**
   * One application's count is on the full primary, the other's elsewhere: the room call of the
   * first fails, that of the second takes room for its two items. The batch fails and nothing is
   * queued, so those two must be given back: the second application can then still queue up to its
   * whole limit (four), not two.
   */
  @Test
  void aBatchWhoseRoomCallFailedOnOnePrimary_givesBackTheRoomTheOtherPrimaryTook()
      throws Exception {
    RedisNotificationQueues queues = capped(4);
    long elsewhere;
    String user;
    try (FullPrimary full = FullPrimary.otherThanOf(backend, prefix + "anchor")) {
      long onFull = app(full.nodeId(), true);
      elsewhere = app(full.nodeId(), false);
      user = user(full.nodeId(), false);
      List<NotificationQueues.Entry> batch =
          List.of(
              entry(user, onFull, "on the full primary"),
              entry(user, elsewhere, "a"),
              entry(user, elsewhere, "b"));

      StoreException failed = Futures.storeFailure(queues.enqueueAll(batch));

      assertThat(failed.code()).isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);
      assertThat(failed.detail()).contains(RedisErrors.FULL);
      assertThat(counted(onFull)).isZero();
      assertThat(counted(elsewhere)).isZero();
      assertThat(Futures.join(queues.pending(user))).isEmpty();
    }
    List<NotificationQueues.Entry> later = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      later.add(entry(user, elsewhere, "later " + i));
    }
    assertThat(Futures.join(queues.enqueueAll(later)))
        .extracting(NotificationQueues.Enqueued::stored)
        .containsExactly(true, true, true, true, false);
    assertThat(counted(elsewhere)).isEqualTo(4);
  }

  /**
   * The application's count is on a primary that answers; one user's queue is on the full primary,
   * another's elsewhere, two short of its capacity. The batch's room call takes room for all five
   * items; the store call of the first user fails, that of the second stores its three, pushing the
   * queue's oldest item out. Given back: the two items not stored and the one pushed out, not the
   * three stored; the count is then the 100 items queued (the batch fails all the same: the caller
   * cannot tell which part was stored). Under a limit of 105 a later batch of six has room for
   * five.
   */
  @Test
  void aBatchWhoseStoreCallFailedOnOnePrimary_givesBackOnlyTheRoomOfWhatIsNotQueued()
      throws Exception {
    int capacity = NotificationQueues.CAPACITY;
    RedisNotificationQueues queues = capped(capacity + 5);
    long app;
    String stored;
    try (FullPrimary full = FullPrimary.otherThanOf(backend, prefix + "anchor")) {
      app = app(full.nodeId(), false);
      stored = user(full.nodeId(), false);
      String refused = user(full.nodeId(), true);
      List<NotificationQueues.Entry> fill = new ArrayList<>();
      for (int i = 0; i < capacity - 2; i++) {
        fill.add(entry(stored, app, "fill " + i));
      }
      assertThat(Futures.join(queues.enqueueAll(fill)))
          .allSatisfy(e -> assertThat(e.stored()).isTrue());
      assertThat(counted(app)).isEqualTo(capacity - 2);
      List<NotificationQueues.Entry> batch =
          List.of(
              entry(refused, app, "x"),
              entry(stored, app, "s1"),
              entry(stored, app, "s2"),
              entry(refused, app, "y"),
              entry(stored, app, "s3"));

      StoreException failed = Futures.storeFailure(queues.enqueueAll(batch));

      assertThat(failed.code()).isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);
      assertThat(failed.detail()).contains(RedisErrors.FULL);
      assertThat(Futures.join(queues.pending(refused))).isEmpty();
      List<Notification> queued = Futures.join(queues.pending(stored));
      assertThat(queued).hasSize(capacity);
      assertThat(queued.get(0).message()).isEqualTo("fill 1");
      assertThat(queued.subList(capacity - 3, capacity))
          .extracting(Notification::message)
          .containsExactly("s1", "s2", "s3");
      assertThat(counted(app)).isEqualTo(capacity);
    }
    String other = "later-" + UUID.randomUUID();
    List<NotificationQueues.Entry> later = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      later.add(entry(other, app, "later " + i));
    }
    assertThat(Futures.join(queues.enqueueAll(later)))
        .extracting(NotificationQueues.Enqueued::stored)
        .containsExactly(true, true, true, true, true, false);
    assertThat(counted(app)).isEqualTo(capacity + 5);
  }

  /**
   * Two users' delivered items removed in one {@code removeDelivered}, their queues on two
   * primaries, one of which refuses scripts ({@code ACL SETUSER default -evalsha}, as an operator's
   * ACL change or a failing primary would): the other primary's call removes its item, the refused
   * one fails, and the removal fails. The removed item is gone, so its room is given back: the
   * count is then the one item still queued, and a later batch under a limit of four has room for
   * three.
   */
  @Test
  void aRemovalWhoseCallFailedOnOnePrimary_givesBackTheRoomOfWhatTheOtherRemoved()
      throws Exception {
    RedisNotificationQueues queues = capped(4);
    String refusing = otherPrimaryThan(prefix + "anchor");
    long app = app(refusing, false);
    String removed = user(refusing, false);
    String refused = user(refusing, true);
    Notification x = NotificationQueuesContract.note(app, "x");
    Notification y = NotificationQueuesContract.note(app, "y");
    assertThat(
            Futures.join(
                queues.enqueueAll(
                    List.of(
                        new NotificationQueues.Entry(removed, x),
                        new NotificationQueues.Entry(refused, y)))))
        .allSatisfy(e -> assertThat(e.stored()).isTrue());
    assertThat(counted(app)).isEqualTo(2);

    RedisClusterAsyncCommands<String, byte[]> node =
        backend.node(refusing).toCompletableFuture().get(10, TimeUnit.SECONDS);
    refuseScripts(node, true);
    try {
      CompletableFuture<?> removal =
          queues
              .removeDelivered(Map.of(removed, List.of(x), refused, List.of(y)))
              .toCompletableFuture();
      assertThatThrownBy(() -> removal.get(10, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class);
    } finally {
      refuseScripts(node, false);
    }

    assertThat(Futures.join(queues.pending(removed))).isEmpty();
    assertThat(Futures.join(queues.pending(refused))).containsExactly(y);
    assertThat(counted(app)).isEqualTo(1);
    List<NotificationQueues.Entry> later = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      later.add(entry("later-" + UUID.randomUUID(), app, "later " + i));
    }
    assertThat(Futures.join(queues.enqueueAll(later)))
        .extracting(NotificationQueues.Enqueued::stored)
        .containsExactly(true, true, true, false);
  }

  /** A primary other than the holder of {@code key}. */
  private String otherPrimaryThan(String key) {
    String owner = backend.primaryOf(SlotHash.getSlot(key));
    return backend.primarySlots().stream()
        .map(backend::primaryOf)
        .filter(id -> id != null && !id.equals(owner))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no primary but " + owner));
  }

  /**
   * Has {@code node} refuse scripts to its default user (the nodes') when {@code refuse}, else
   * gives that user every command back; the {@code ACL} command itself stays allowed.
   */
  private static void refuseScripts(RedisClusterAsyncCommands<String, byte[]> node, boolean refuse)
      throws Exception {
    CommandArgs<String, byte[]> args =
        new CommandArgs<>(RedisBackend.CODEC).add("SETUSER").add("default");
    if (refuse) {
      args.add("-eval").add("-evalsha").add("-eval_ro").add("-evalsha_ro");
    } else {
      args.add("+@all");
    }
    node.dispatch(CommandType.ACL, new StatusOutput<>(RedisBackend.CODEC), args)
        .get(10, TimeUnit.SECONDS);
  }

  private RedisNotificationQueues capped(long maxQueuedPerApp) {
    return new RedisNotificationQueues(
        backend, StoreConfig.DEFAULT_QUEUE_RETENTION, maxQueuedPerApp);
  }

  private static NotificationQueues.Entry entry(String user, long app, String message) {
    return new NotificationQueues.Entry(user, NotificationQueuesContract.note(app, message));
  }

  /** The sum of application {@code app}'s count buckets: the room it has taken. */
  private long counted(long app) {
    return backend.commands().sync().hgetall(backend.keys().app("nqc", app)).values().stream()
        .mapToLong(v -> Long.parseLong(new String(v, StandardCharsets.UTF_8)))
        .sum();
  }

  private boolean on(String node, String key) {
    return node.equals(backend.primaryOf(SlotHash.getSlot(key)));
  }

  /** A fresh application whose count is on primary {@code node} ({@code there}) or not. */
  private long app(String node, boolean there) {
    for (int i = 0; i < 1000; i++) {
      long app = NotificationQueuesContract.freshApp();
      if (on(node, backend.keys().app("nqc", app)) == there) {
        return app;
      }
    }
    throw new AssertionError("no application found " + (there ? "on " : "off ") + node);
  }

  /** A fresh user whose queues are on primary {@code node} ({@code there}) or not. */
  private String user(String node, boolean there) {
    for (int i = 0; i < 1000; i++) {
      String user = "cap-" + UUID.randomUUID();
      if (on(node, backend.keys().user("nqa", UserKeys.of(user))) == there) {
        return user;
      }
    }
    throw new AssertionError("no user found " + (there ? "on " : "off ") + node);
  }
}
