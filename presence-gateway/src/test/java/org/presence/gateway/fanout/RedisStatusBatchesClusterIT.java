package org.presence.gateway.fanout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.store.testing.Futures.join;

import io.lettuce.core.cluster.SlotHash;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.bus.LocalPresenceBus;
import org.presence.store.config.StoreConfig;
import org.presence.store.exec.Batcher;
import org.presence.store.permission.Grant;
import org.presence.store.presence.PresenceChange;
import org.presence.store.presence.PresenceUpdate;
import org.presence.store.presence.RedisPresenceStateStore;
import org.presence.store.presence.RedisStatusBatches;
import org.presence.store.presence.StatusBatches;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;
import org.presence.store.testing.PrivateRedis;
import org.presence.store.testing.Rounds;
import org.presence.store.testing.SlotMover;
import org.presence.store.updates.AppUpdate;
import org.presence.store.updates.AppUpdateLog;
import org.presence.store.updates.RedisAppUpdateLog;

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

  /**
   * A batch's log call fails after its statuses were stored (here the fan-out refuses it, as the
   * publisher does once its tries ran out): the status is acknowledged and stored, and its changes
   * (user, audiences, version) are handed to the batches' listener, to be published later. Once the
   * log call goes through, nothing is handed over.
   */
  @Test
  void aLogCallFailingAfterTheStatusesAreStored_handsTheirChangesOver() {
    StatusBatches.Fanout real = fanout();
    AtomicBoolean refuse = new AtomicBoolean(true);
    StatusBatches.Fanout refusing =
        new StatusBatches.Fanout() {
          @Override
          public CompletionStage<List<Grant>> grants(String user) {
            return real.grants(user);
          }

          @Override
          public Map<Long, List<AppUpdate.New>> updatesFor(
              List<Grant> grants, PresenceUpdate update) {
            return real.updatesFor(grants, update);
          }

          @Override
          public CompletionStage<?> publishAll(Map<Long, List<AppUpdate.New>> byApp) {
            return refuse.get()
                ? CompletableFuture.failedFuture(new IllegalStateException("log call refused"))
                : real.publishAll(byApp);
          }

          @Override
          public void delivered(Map<Long, List<AppUpdate>> numberedByApp) {
            real.delivered(numberedByApp);
          }
        };
    RedisStatusBatches b = new RedisStatusBatches(redis, state, log, refusing);
    List<String> handed = new CopyOnWriteArrayList<>();
    b.whenUnlogged((user, u) -> handed.add(user + " " + changesOf(u)));
    grant("h", APP_A, true);
    UUID hs = UUID.randomUUID();
    join(state.claim("h", "d", hs, "n1", 10, 1));

    PresenceUpdate h = join(b.update("h", "d", hs, PresenceStatus.ONLINE, null, null, null, 2));
    assertThat(h.applied()).isTrue();
    assertThat(h.changes()).isNotEmpty();
    assertThat(join(state.presence("h")).allApps().status()).isEqualTo(PresenceStatus.ONLINE);
    assertThat(logged(APP_A)).isEmpty();
    assertThat(handed).containsExactly("h " + changesOf(h));

    refuse.set(false);
    PresenceUpdate away = join(b.update("h", "d", hs, PresenceStatus.AWAY, null, null, null, 3));
    assertThat(away.changes()).isNotEmpty();
    assertThat(logged(APP_A)).extracting(AppUpdate::status).containsExactly(PresenceStatus.AWAY);
    assertThat(handed).hasSize(1);
  }

  /** {@code u}'s changes: audience, status and version of each. */
  private static String changesOf(PresenceUpdate u) {
    StringBuilder out = new StringBuilder();
    for (PresenceChange c : u.changes()) {
      out.append(c.appId()).append(':').append(c.status().wireName()).append(':');
      out.append(c.version()).append(' ');
    }
    return out.toString();
  }

  /**
   * An operator moves a slot to another primary (live resharding: the keys go across one at a time,
   * so for a while some of the slot's hashes are on the old primary and the others on the new)
   * while devices keep sending statuses, two at a time per user, and then moves it back; then the
   * same with the slot of the application's log. The users of the moving slot share it with several
   * others, and more users of the same primary are in other slots (they send every other round), so
   * the statuses go in calls over several slots, in calls over one slot whose keys are half moved,
   * and alone. Every status is answered without an error, every user ends on the last status sent,
   * and each application's log holds each user's statuses once each, in the order they were sent. A
   * private three-primary cluster, so that the shared one keeps its slots.
   */
  @Test
  void statusesGoOnWhileTheirSlotMovesToAnotherPrimary(@TempDir Path dir) throws Exception {
    try (PrivateRedis cluster = PrivateRedis.cluster(dir, null, null);
        SlotMover mover = new SlotMover(cluster.ports())) {
      String url = cluster.clusterUrl();
      RedisBackend r = RedisBackend.connect(StoreConfig.RedisConfig.redis(url).withKeyPrefix("m:"));
      try {
        movingSlotKeepsEveryStatus(r, mover);
      } finally {
        r.close();
      }
    }
  }

  private static void movingSlotKeepsEveryStatus(RedisBackend r, SlotMover mover) throws Exception {
    RedisPresenceStateStore st = new RedisPresenceStateStore(r);
    RedisAppUpdateLog lg = new RedisAppUpdateLog(r, AppUpdateLog.RETENTION);
    Map<String, List<Grant>> grants = new HashMap<>();
    RedisStatusBatches b =
        new RedisStatusBatches(
            r,
            st,
            lg,
            new LoggedPresenceEvents(
                new AppUpdatePublisher(lg, new LocalPresenceBus()),
                user -> CompletableFuture.completedFuture(grants.getOrDefault(user, List.of()))));

    int slot = SlotHash.getSlot(r.keys().presence("m0"));
    int home = mover.ownerOf(slot);
    List<String> users = new ArrayList<>();
    List<String> sameSlot = new ArrayList<>();
    int elsewhere = 0;
    for (int i = 0; sameSlot.size() < 8 || elsewhere < 8; i++) {
      String u = "m" + i;
      int s = SlotHash.getSlot(r.keys().presence(u));
      if (s == slot && sameSlot.size() < 8) {
        sameSlot.add(u);
        users.add(u);
      } else if (s != slot && elsewhere < 8 && mover.ownerOf(s) == home) {
        elsewhere++;
        users.add(u);
      }
    }
    Map<String, UUID> sessions = new HashMap<>();
    for (String u : users) {
      grants.put(
          u, List.of(new Grant(u + "@" + APP_A, u, APP_A, u, true, Instant.EPOCH, Instant.EPOCH)));
      sessions.put(u, UUID.randomUUID());
      join(st.claim(u, "d", sessions.get(u), "n1", 10, 1));
    }

    PresenceStatus[] cycle = {
      PresenceStatus.ONLINE, PresenceStatus.AWAY, PresenceStatus.UNAVAILABLE
    };
    Map<String, List<String>> sent = new HashMap<>();
    users.forEach(u -> sent.put(u, new ArrayList<>()));
    List<String> failures = new CopyOnWriteArrayList<>();
    java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong(10);
    Rounds.during(
        "devices",
        round -> {
          List<CompletableFuture<PresenceUpdate>> made = new ArrayList<>();
          List<String> what = new ArrayList<>();
          // Every other round only the moving slot's users: batches of one slot.
          for (String u : round % 2 == 0 ? users : sameSlot) {
            for (int k = 0; k < 2; k++) {
              PresenceStatus status = cycle[(2 * round + k) % 3];
              String message = "r" + round + "." + k;
              sent.get(u).add(status.wireName() + " " + message);
              what.add(u + " " + message);
              made.add(
                  b.update(
                          u,
                          "d",
                          sessions.get(u),
                          status,
                          message,
                          null,
                          null,
                          now.getAndIncrement())
                      .toCompletableFuture());
            }
          }
          for (int i = 0; i < made.size(); i++) {
            try {
              if (!made.get(i).get(10, java.util.concurrent.TimeUnit.SECONDS).applied()) {
                failures.add(what.get(i) + ": not applied");
              }
            } catch (Exception e) {
              failures.add(what.get(i) + ": " + e);
            }
          }
        },
        rounds -> {
          mover.awayAndBack(slot, java.time.Duration.ofMillis(25), rounds);
          // Then the application's log (its stream, counters, guards: their calls are the log's).
          mover.awayAndBack(
              SlotHash.getSlot(lg.appendKeys(APP_A)[0]), java.time.Duration.ofMillis(25), rounds);
        });

    assertThat(failures).isEmpty();
    Map<String, List<String>> logged = new HashMap<>();
    long since = 0;
    while (true) {
      var read = join(lg.readSince(APP_A, since, 1000));
      for (AppUpdate u : read.updates()) {
        logged
            .computeIfAbsent(u.puid(), k -> new ArrayList<>())
            .add(u.status().wireName() + " " + u.message());
        since = u.seq();
      }
      if (read.updates().isEmpty()) {
        break;
      }
    }
    for (String u : users) {
      List<String> mine = sent.get(u);
      String last = mine.get(mine.size() - 1);
      assertThat(join(st.presence(u)).allApps().status().wireName())
          .as("%s's state", u)
          .isEqualTo(last.substring(0, last.indexOf(' ')));
      assertThat(logged.get(u + "@" + APP_A)).as("%s's updates in the log", u).isEqualTo(mine);
    }
  }
}
