package org.presence.store.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.store.testing.Futures.storeFailure;
import static org.presence.store.testing.Notes.entry;

import io.lettuce.core.cluster.SlotHash;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.config.StoreConfig;
import org.presence.store.error.StoreException;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.RedisKeys;
import org.presence.store.testing.Backends;
import org.presence.store.testing.PrivateRedis;

/**
 * {@code store.redis.ack-replicas=1} on a Redis Cluster of three primaries with one replica each
 * (the test's own): a batch is acknowledged once the replica of every primary it was written to has
 * it ({@code WAIT} on the primary's own connection, right after the write); a primary whose replica
 * does not confirm fails its part of a batch, and only its part; a connection lost while {@code
 * WAIT} runs fails the call; and when a primary is killed and its replica promoted, every
 * acknowledged item is still there, while writes to the promoted primary, which has no replica, are
 * refused rather than acknowledged unreplicated.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RedisNotificationQueuesReplicaAckClusterIT {
  @TempDir static Path dir;

  private static PrivateRedis cluster;
  private static RedisBackend backend;
  private static RedisNotificationQueues queues;
  private static final RedisKeys KEYS = new RedisKeys("ack-rc:");

  /** Per primary's port, its replica's port. */
  private static final Map<Integer, Integer> REPLICA = new LinkedHashMap<>();

  /** Per primary's port, users whose queues it holds. */
  private static final Map<Integer, List<String>> USERS = new LinkedHashMap<>();

  /** Every item acknowledged so far, by user. */
  private static final Map<String, List<String>> ACKED = new HashMap<>();

  @BeforeAll
  static void start() throws Exception {
    Backends.redisUrl(); // skipped, as the other Redis tests, without bin/backends' environment
    cluster = PrivateRedis.clusterWithReplicas(dir);
    Map<String, Integer> portById = new HashMap<>();
    Map<Integer, String> primaryIdOf = new HashMap<>();
    Map<Integer, List<int[]>> slotsOf = new HashMap<>();
    Awaitility.await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              portById.clear();
              primaryIdOf.clear();
              slotsOf.clear();
              for (String line : cluster.cli(cluster.ports().get(0), "cluster", "nodes")) {
                String[] f = line.trim().split(" ");
                if (f.length < 8) {
                  continue;
                }
                int port =
                    Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1, f[1].indexOf('@')));
                portById.put(f[0], port);
                if (f[2].contains("slave")) {
                  primaryIdOf.put(port, f[3]);
                } else {
                  List<int[]> ranges = new ArrayList<>();
                  for (int i = 8; i < f.length; i++) {
                    String[] r = f[i].split("-");
                    int from = Integer.parseInt(r[0]);
                    ranges.add(new int[] {from, r.length > 1 ? Integer.parseInt(r[1]) : from});
                  }
                  slotsOf.put(port, ranges);
                }
              }
              return primaryIdOf.size() == 3 && slotsOf.size() == 3;
            });
    primaryIdOf.forEach((replica, primaryId) -> REPLICA.put(portById.get(primaryId), replica));
    for (int primary : REPLICA.keySet()) {
      Awaitility.await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  String.join("\n", cluster.cli(primary, "info", "replication"))
                      .contains("state=online"));
      USERS.put(primary, new ArrayList<>());
    }
    // Two users per primary.
    for (int i = 0; USERS.values().stream().anyMatch(u -> u.size() < 2); i++) {
      String user = "ack-user-" + i;
      int slot = SlotHash.getSlot(KEYS.user("nqa", UserKeys.of(user)));
      slotsOf.forEach(
          (port, ranges) -> {
            for (int[] r : ranges) {
              if (slot >= r[0] && slot <= r[1] && USERS.get(port).size() < 2) {
                USERS.get(port).add(user);
              }
            }
          });
    }
    backend =
        RedisBackend.connect(
            StoreConfig.RedisConfig.redis(cluster.clusterUrl())
                .withKeyPrefix("ack-rc:")
                .withAckReplicas(1, Duration.ofSeconds(1)));
    queues = new RedisNotificationQueues(backend);
  }

  @AfterAll
  static void stop() {
    if (backend != null) {
      backend.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  /** Queues one item per user, all in one batch; fails unless every part is acknowledged. */
  private static void acked(List<String> users, String message) throws Exception {
    List<NotificationQueues.Entry> batch = new ArrayList<>();
    for (String u : users) {
      batch.add(entry(u, message));
    }
    assertThat(queues.enqueueAll(batch).toCompletableFuture().get(10, TimeUnit.SECONDS))
        .hasSize(users.size());
    for (String u : users) {
      ACKED.computeIfAbsent(u, x -> new ArrayList<>()).add(message);
    }
  }

  private static List<String> all() {
    return USERS.values().stream().flatMap(List::stream).toList();
  }

  private static List<String> pending(String user) throws Exception {
    return queues.pending(user).toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
        .map(Notification::message)
        .toList();
  }

  @Test
  @Order(1)
  void aBatchOverEveryPrimary_waitsForEachPrimarysReplica_andOnlyTheLaggingPrimarysPartFails()
      throws Exception {
    acked(all(), "replicated");

    int lagging = USERS.keySet().iterator().next();
    String slowUser = USERS.get(lagging).get(0);
    List<String> others = all().stream().filter(u -> !USERS.get(lagging).contains(u)).toList();
    cluster.signal(REPLICA.get(lagging), "STOP");
    try {
      StoreException e =
          storeFailure(
              queues.enqueueAll(List.of(entry(slowUser, "lagging"))).toCompletableFuture());
      assertThat(e.code()).isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);
      assertThat(e.detail()).contains("0 of 1 replicas");
      // The other primaries' replicas answer: their users' batches are acknowledged meanwhile.
      acked(others, "beside the lagging one");
      // A batch over every primary fails as a whole: one part is not confirmed.
      List<NotificationQueues.Entry> everyone = new ArrayList<>();
      for (String u : all()) {
        everyone.add(entry(u, "partly confirmed"));
      }
      assertThat(storeFailure(queues.enqueueAll(everyone).toCompletableFuture()).code())
          .isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);

      // The connection lost while WAIT blocks: a WAIT made again on the new connection would count
      // the stalled replica at once (it covers no write there); the batch fails instead.
      CompletableFuture<List<NotificationQueues.Enqueued>> cut =
          queues.enqueueAll(List.of(entry(slowUser, "cut"))).toCompletableFuture();
      Thread.sleep(200);
      cluster.cli(lagging, "client", "kill", "type", "normal");
      assertThat(storeFailure(cut).code()).isEqualTo(ErrorCode.BACKEND_UNAVAILABLE);
    } finally {
      cluster.signal(REPLICA.get(lagging), "CONT");
    }

    // The replica back: acknowledged again; what failed was stored all the same, unconfirmed.
    Awaitility.await()
        .atMost(Duration.ofSeconds(20))
        .ignoreExceptions()
        .untilAsserted(() -> acked(List.of(slowUser), "again"));
    assertThat(pending(slowUser))
        .containsSubsequence("replicated", "lagging", "partly confirmed", "cut", "again");
    for (String u : others) {
      assertThat(pending(u)).containsSubsequence(ACKED.get(u));
    }
  }

  @Test
  @Order(2)
  void aPrimaryKilled_itsReplicaPromoted_everyAcknowledgedItemIsThere_andNewWritesThereRefused()
      throws Exception {
    acked(all(), "before the failover");
    int killed = USERS.keySet().iterator().next();
    int promoted = REPLICA.get(killed);
    cluster.kill(killed);
    Awaitility.await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                String.join("\n", cluster.cli(promoted, "info", "replication"))
                    .contains("role:master"));

    // The node follows the failover by itself; every item acknowledged before is on the promoted
    // replica, in order.
    for (String u : USERS.get(killed)) {
      Awaitility.await()
          .atMost(Duration.ofSeconds(30))
          .ignoreExceptions()
          .untilAsserted(() -> assertThat(pending(u)).containsSubsequence(ACKED.get(u)));
    }
    // The promoted primary has no replica: its users' batches are refused, not acknowledged
    // unreplicated; the other primaries' users are acknowledged as before.
    String orphan = USERS.get(killed).get(0);
    Awaitility.await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () ->
                assertThat(
                        storeFailure(
                                queues
                                    .enqueueAll(List.of(entry(orphan, "unreplicated")))
                                    .toCompletableFuture())
                            .detail())
                    .contains("0 of 1 replicas"));
    acked(all().stream().filter(u -> !USERS.get(killed).contains(u)).toList(), "after");
  }
}
