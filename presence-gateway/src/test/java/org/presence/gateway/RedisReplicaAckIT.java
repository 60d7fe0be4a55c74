package org.presence.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.store.testing.Futures.storeFailure;
import static org.presence.store.testing.Notes.entry;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.presence.gateway.testing.SentinelRedis;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.config.StoreConfig;
import org.presence.store.error.StoreException;
import org.presence.store.queue.Notification;
import org.presence.store.queue.NotificationQueues;
import org.presence.store.queue.RedisNotificationQueues;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;

/**
 * {@code store.redis.ack-replicas=1} on a primary with one replica: a batch completes once the
 * replica has it, fails with {@code BACKEND_UNAVAILABLE} when the replica does not confirm within
 * the timeout, and also when the connection is lost while {@code WAIT} runs (a {@code WAIT} on the
 * new connection would cover none of the earlier writes).
 */
class RedisReplicaAckIT {
  private static SentinelRedis redis;
  private static RedisBackend backend;
  private static NotificationQueues queues;

  @BeforeAll
  static void start() throws Exception {
    Backends.redisUrl(); // skipped, as the other Redis tests, without bin/backends' environment
    redis = SentinelRedis.replicated();
    backend =
        RedisBackend.connect(
            StoreConfig.RedisConfig.redis("redis://127.0.0.1:" + redis.primaryPort())
                .withKeyPrefix("ack-it:")
                // Below the 2 s command timeout, as ConfigLoader requires: WAIT must answer first.
                .withAckReplicas(1, Duration.ofSeconds(1)));
    queues = new RedisNotificationQueues(backend);
  }

  @AfterAll
  static void stop() {
    if (backend != null) {
      backend.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  @Test
  void enqueue_waitsForTheReplica_andFailsWhenItDoesNotConfirm() throws Exception {
    String user = "u-" + UUID.randomUUID();
    assertThat(
            queues
                .enqueueAll(List.of(entry(user, "replicated")))
                .toCompletableFuture()
                .get(5, TimeUnit.SECONDS))
        .singleElement()
        .satisfies(e -> assertThat(e.queueSize()).isEqualTo(1));

    redis.stopReplica();
    try {
      StoreException e =
          storeFailure(queues.enqueueAll(List.of(entry(user, "lagging"))).toCompletableFuture());
      assertThat(e.code()).isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);
      assertThat(e.detail()).contains("0 of 1 replicas");

      // The connection lost while WAIT blocks: a WAIT replayed on the new connection would count
      // the stalled replica at once (it covers no write there); the batch fails instead.
      CompletableFuture<List<NotificationQueues.Enqueued>> pending =
          queues.enqueueAll(List.of(entry(user, "cut"))).toCompletableFuture();
      Thread.sleep(100);
      redis.cli(redis.primaryPort(), "CLIENT", "KILL", "TYPE", "normal");
      StoreException cut = storeFailure(pending);
      assertThat(cut.code()).isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);
    } finally {
      redis.continueReplica();
    }

    // The replica back: acknowledged again, and everything the node stored is on the primary
    // (the failed batches too: stored, just not confirmed).
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(20))
        .ignoreExceptions()
        .until(
            () ->
                queues
                        .enqueueAll(List.of(entry(user, "again")))
                        .toCompletableFuture()
                        .get(5, TimeUnit.SECONDS)
                        .size()
                    == 1);
    assertThat(queues.pending(user).toCompletableFuture().get(5, TimeUnit.SECONDS))
        .extracting(Notification::message)
        .startsWith("replicated", "lagging")
        .endsWith("again");
  }

  /**
   * With replicas to wait for, the enqueue script does not publish the wake-ups: they come back for
   * the node to publish once the replica confirmed, so no device is woken for a batch that fails.
   */
  @Test
  void enqueueAndWake_returnsTheWakeUps_afterTheReplicaConfirmed() throws Exception {
    String user = "w-" + UUID.randomUUID();
    UUID session = UUID.randomUUID();
    new org.presence.store.presence.RedisPresenceStateStore(backend)
        .claim(user, "phone", session, "other-node", 10, System.currentTimeMillis())
        .toCompletableFuture()
        .get(5, TimeUnit.SECONDS);
    RedisNotificationQueues.WakeFormat format =
        new RedisNotificationQueues.WakeFormat() {
          @Override
          public String localNode() {
            return "this-node";
          }

          @Override
          public String channelPrefix() {
            return "notifications.node.";
          }

          @Override
          public byte[] open() {
            return "[".getBytes(java.nio.charset.StandardCharsets.UTF_8);
          }

          @Override
          public byte[] close() {
            return "]".getBytes(java.nio.charset.StandardCharsets.UTF_8);
          }

          @Override
          public byte[][] user(String u, List<Notification> items) {
            return new byte[][] {
              "{\"s\":[".getBytes(java.nio.charset.StandardCharsets.UTF_8),
              "]}".getBytes(java.nio.charset.StandardCharsets.UTF_8)
            };
          }
        };
    RedisNotificationQueues redisQueues = (RedisNotificationQueues) queues;
    RedisNotificationQueues.Woken w =
        redisQueues
            .enqueueAndWake(List.of(entry(user, "woken")), format)
            .toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
    assertThat(w.published()).isZero();
    assertThat(w.local()).isEmpty();
    assertThat(w.unsent()).containsOnlyKeys("other-node");
    assertThat(new String(w.unsent().get("other-node"), java.nio.charset.StandardCharsets.UTF_8))
        .isEqualTo("[{\"s\":[\"" + session + "\"]}]");

    redis.stopReplica();
    try {
      StoreException e =
          storeFailure(
              redisQueues
                  .enqueueAndWake(List.of(entry(user, "unconfirmed")), format)
                  .toCompletableFuture());
      assertThat(e.code()).isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);
    } finally {
      redis.continueReplica();
    }
    // Confirmed again before the next test.
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(20))
        .ignoreExceptions()
        .until(
            () ->
                queues
                        .enqueueAll(List.of(entry(user, "again")))
                        .toCompletableFuture()
                        .get(5, TimeUnit.SECONDS)
                        .size()
                    == 1);
  }
}
