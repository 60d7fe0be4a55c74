package org.presence.gateway.fanout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.store.testing.Futures.join;

import io.lettuce.core.cluster.SlotHash;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.config.StoreConfig;
import org.presence.store.exec.Batcher;
import org.presence.store.presence.PresenceUpdate;
import org.presence.store.presence.RedisStatusBatches;
import org.presence.store.testing.Backends;
import org.presence.store.updates.AppUpdate;

/**
 * {@link RedisStatusBatchesIT}, every test of it, against a Redis Cluster: a batch is one state
 * call per primary and one log call per application slot (issue 13, section 2).
 */
class RedisStatusBatchesClusterIT extends RedisStatusBatchesIT {
  @BeforeAll
  static void requireCluster() {
    Backends.redisClusterUrl();
  }

  @Override
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redisCluster(keyPrefix);
  }

  /**
   * Here a lone change is two calls: the state call on the user's shard and the log call on the
   * application's, which publishes with {@code SPUBLISH}.
   */
  @Override
  Map<String, Long> expectedLoneChange(boolean firstOfPeriod) {
    Map<String, Long> m = new TreeMap<>(super.expectedLoneChange(firstOfPeriod));
    m.put("evalsha", 2L);
    m.put("spublish", m.remove("publish"));
    return m;
  }

  /**
   * Each user's hash is in a slot of its own here, but a batch's state call takes every slot of one
   * primary: 60 statuses made at once are a few state calls per primary and a few log calls per
   * application slot. The bound, users / 2, leaves room for the batches a loaded machine splits
   * more finely and for the first EVALSHA on each shard, which Redis counts once more when it
   * answers NOSCRIPT (18 calls for 60 users were seen on a fresh cluster); one state call per user
   * slot, as before, made 92 to 121.
   */
  @Override
  long mostScriptCalls(int users) {
    return users / 2;
  }

  /**
   * A user's slot moves to another primary between two of the user's updates; here the topology the
   * batches read names the wrong primary for the user's first update. That update goes in one call
   * with other users' updates to a primary that does not hold its slot, which refuses the call with
   * nothing written; the batch is made again as one call per slot. The user's second update, queued
   * for the right primary, waits for the first instead of overtaking it: the user's state and the
   * application's log end on the second, and every other update of the refused call is decided and
   * logged once. The updates are made on the thread that makes the batches' calls, so that the
   * batches are formed after all of them are queued: the first update in a call with the others,
   * the second at once.
   */
  @Test
  void anUpdateQueuedAfterItsSlotMoved_waitsForTheOneQueuedBefore() {
    String x = "x";
    int xSlot = SlotHash.getSlot(userKey(x));
    String xPrimary = redis.primaryOf(xSlot);
    String elsewhere = null;
    List<String> others = new ArrayList<>();
    for (int i = 0; others.size() < 10; i++) {
      String y = "y" + i;
      String p = redis.primaryOf(SlotHash.getSlot(userKey(y)));
      if (p.equals(xPrimary)) {
        continue;
      }
      if (elsewhere == null) {
        elsewhere = p;
      }
      if (p.equals(elsewhere)) {
        others.add(y);
      }
    }
    String wrong = elsewhere;
    AtomicBoolean moved = new AtomicBoolean(true);
    RedisStatusBatches moving =
        new RedisStatusBatches(
            redis,
            state,
            log,
            fanout(),
            true,
            slot -> slot == xSlot && moved.get() ? wrong : redis.primaryOf(slot));
    Map<String, UUID> sessions = new TreeMap<>();
    for (String u : others) {
      grant(u, APP_A, true);
      sessions.put(u, UUID.randomUUID());
      join(state.claim(u, "d", sessions.get(u), "n1", 10, 1));
    }
    grant(x, APP_A, true);
    UUID s = UUID.randomUUID();
    join(state.claim(x, "d", s, "n1", 10, 1));

    List<CompletionStage<PresenceUpdate>> results = new ArrayList<>();
    CompletableFuture<Void> made = new CompletableFuture<>();
    Batcher.serialSender()
        .execute(
            () -> {
              try {
                for (String u : others) {
                  results.add(
                      moving.update(
                          u, "d", sessions.get(u), PresenceStatus.ONLINE, null, null, null, 2));
                }
                results.add(moving.update(x, "d", s, PresenceStatus.AWAY, null, null, null, 3));
                moved.set(false);
                results.add(
                    moving.update(x, "d", s, PresenceStatus.UNAVAILABLE, null, null, null, 4));
                made.complete(null);
              } catch (RuntimeException e) {
                made.completeExceptionally(e);
              }
            });
    join(made);
    results.forEach(r -> assertThat(join(r).applied()).isTrue());

    assertThat(join(state.presence(x)).allApps().status()).isEqualTo(PresenceStatus.UNAVAILABLE);
    List<AppUpdate> updates = logged(APP_A);
    String xPuid = x + "@" + APP_A;
    assertThat(updates)
        .filteredOn(u -> u.puid().equals(xPuid))
        .extracting(AppUpdate::status)
        .containsExactly(PresenceStatus.AWAY, PresenceStatus.UNAVAILABLE);
    assertThat(updates)
        .filteredOn(u -> !u.puid().equals(xPuid))
        .extracting(AppUpdate::puid)
        .containsExactlyInAnyOrderElementsOf(others.stream().map(u -> u + "@" + APP_A).toList());
  }
}
