package org.presence.store.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.config.StoreConfig;
import org.presence.store.error.StoreException;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;
import org.presence.store.testing.Futures;

/**
 * The per-application limit on one Redis with {@code store.redis.ack-replicas=1} and no replica:
 * every write runs and then fails its {@code WAIT}. A batch that fits is stored and counted (the
 * call did both); a batch over the limit, whose first call takes the room of the items that have it
 * and stores nothing, must not leave that room taken when it fails: nothing of it is queued.
 */
class RedisQueuedLimitAckIT {
  private RedisBackend backend;

  @BeforeEach
  void connect() {
    Backends.redisUrl();
    backend =
        RedisBackend.connect(
            Backends.redis(Backends.uniquePrefix(getClass()))
                .withAckReplicas(1, Duration.ofMillis(100)));
  }

  @AfterEach
  void disconnect() {
    if (backend != null) {
      backend.close();
    }
  }

  @Test
  void aBatchOverTheLimitWhoseWaitFailed_leavesNoRoomTaken() {
    RedisNotificationQueues queues =
        new RedisNotificationQueues(backend, StoreConfig.DEFAULT_QUEUE_RETENTION, 3);
    long app = NotificationQueuesContract.freshApp();
    String user = "ack-limit-" + UUID.randomUUID();
    List<NotificationQueues.Entry> batch = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      batch.add(new NotificationQueues.Entry(user, NotificationQueuesContract.note(app, "m" + i)));
    }

    StoreException failed =
        Futures.storeFailure(queues.enqueueAndWake(batch, RedisNotificationWakesIT.FORMAT));

    assertThat(failed.code()).isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);
    int queued = Futures.join(queues.pending(user)).size();
    assertThat(counted(app)).isLessThanOrEqualTo(queued);
  }

  @Test
  void aBatchThatFitsWhoseWaitFailed_staysCounted_asItIsQueued() {
    RedisNotificationQueues queues =
        new RedisNotificationQueues(backend, StoreConfig.DEFAULT_QUEUE_RETENTION, 3);
    long app = NotificationQueuesContract.freshApp();
    String user = "ack-fit-" + UUID.randomUUID();
    List<NotificationQueues.Entry> batch = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      batch.add(new NotificationQueues.Entry(user, NotificationQueuesContract.note(app, "m" + i)));
    }

    StoreException failed =
        Futures.storeFailure(queues.enqueueAndWake(batch, RedisNotificationWakesIT.FORMAT));

    assertThat(failed.code()).isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);
    assertThat(Futures.join(queues.pending(user))).hasSize(3);
    assertThat(counted(app)).isEqualTo(3);
  }

  /** The sum of application {@code app}'s count buckets: the room it has taken. */
  private long counted(long app) {
    return backend.commands().sync().hgetall(backend.keys().app("nqc", app)).values().stream()
        .mapToLong(v -> Long.parseLong(new String(v, StandardCharsets.UTF_8)))
        .sum();
  }
}
