package org.presence.gateway.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.store.testing.Futures.join;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.config.ClusterConfig;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.store.cluster.NodeRegistry;
import org.presence.store.presence.DeviceState;

/**
 * A Redis outage longer than the lease, as node B sees it, on a real Redis: B ({@link NodeLiveness}
 * with read healing and the sweep) and node A share it; A is played by the test (its lease renewed
 * every beat, a device of its session). Whatever judges A dead on B (a read that heals, the sweep,
 * the heartbeat's clean-up) waits until A had the time to renew after the outage: no device of A is
 * released, nothing is published, A is never claimed. Two ways the outage shows: B's own registry
 * calls fail meanwhile (its heartbeat fails), or they never do but the leases in Redis are all
 * behind when B next looks (Redis came back from older data before B sent anything). Once A stops
 * for good, B still releases its device.
 */
class OutageJudgingIT {
  private static final String B = "node-b";
  private static final String A = "node-a";
  private static final String USER = "alice";
  private static final Duration LEASE = Duration.ofSeconds(2);
  private static final Duration BEAT = Duration.ofMillis(500);
  private static final Duration SWEEP = Duration.ofMillis(50);
  private static final Duration WAIT = Duration.ofSeconds(15);

  @TempDir Path dir;
  private final GatewayMetrics metrics = GatewayMetrics.create();
  private final ScheduledExecutorService nodeA = Executors.newSingleThreadScheduledExecutor();
  private final AtomicBoolean aBeats = new AtomicBoolean(true);
  private LivenessFixture fx;
  private OutageRegistry registry;
  private NodeLiveness liveness;
  private UUID aSession;

  @BeforeEach
  void open() {
    fx = LivenessFixture.onRedis(dir, getClass(), metrics);
    registry = new OutageRegistry(fx.store.nodes());
    // Node A: beats every beat while it can reach Redis, and has an online device.
    fx.beatAs(nodeA, A, LEASE, BEAT, aBeats::get);
    aSession = fx.online(USER, A);
    liveness =
        NodeLiveness.start(
            new ClusterConfig(LEASE, BEAT, SWEEP, 100),
            B,
            registry,
            fx.store.presence(),
            fx.devices,
            metrics,
            true,
            false);
  }

  @AfterEach
  void close() throws Exception {
    nodeA.shutdownNow();
    nodeA.awaitTermination(5, TimeUnit.SECONDS);
    if (liveness != null) {
      liveness.close();
    }
    if (fx != null) {
      fx.close();
    }
  }

  /** Whether A's session still owns its device, read on B (a read that heals). */
  private boolean aOwnsTheDevice() {
    DeviceState d = join(fx.store.presence().devices(USER)).get("phone");
    return d != null && aSession.equals(d.session());
  }

  private boolean leaseListed(String node) {
    return join(fx.store.nodes().alive()).contains(node);
  }

  @Test
  void afterFailedHeartbeats_nothingOfAnotherNodeIsReleased_untilItHadTwoBeatsToRenew()
      throws Exception {
    assertThat(aOwnsTheDevice()).isTrue(); // the read healing's cache knows A
    // The outage: neither B's registry calls nor A's heartbeats reach Redis, longer than a lease.
    registry.down.set(true);
    aBeats.set(false);
    await().atMost(WAIT).until(() -> !liveness.leaseOk());
    await().atMost(WAIT).until(() -> !leaseListed(A) && !leaseListed(B));
    // Redis is back. Reads on B come before A (or B) renewed.
    registry.down.set(false);
    for (int i = 0; i < 5; i++) {
      assertThat(aOwnsTheDevice()).as("read %d right after the outage", i).isTrue();
    }
    // B's heartbeat works again; a few sweeps and reads later A renews (within its beat).
    await().atMost(WAIT).until(liveness::leaseOk);
    Thread.sleep(3 * SWEEP.toMillis());
    assertThat(aOwnsTheDevice()).isTrue();
    join(fx.store.nodes().heartbeat(A, LEASE));
    aBeats.set(true);
    expectNothingReleasedFor(BEAT.multipliedBy(3));
    aStopsForGood();
  }

  @Test
  void leasesFoundBehind_withoutAFailedCall_judgeNobodyUntilTheOthersHadTwoBeatsToRenew()
      throws Exception {
    assertThat(aOwnsTheDevice()).isTrue();
    // Redis came back from older data before B sent anything: every lease in it has run out. (Once
    // the read healing's cache of live nodes is older than its refresh period, and just after a
    // beat of B, so that the reads come before B's next one.)
    Thread.sleep(LEASE.toMillis() + 100);
    aBeats.set(false);
    long beats = registry.renewals.size();
    await().atMost(WAIT).until(() -> registry.renewals.size() > beats);
    String leases = fx.store.redis().keys().group("nodes", "nodes:leases", "");
    byte[] past = "1".getBytes(StandardCharsets.UTF_8);
    // Older data holds no lease key of the earlier form either (they expire with the leases), and
    // a live one would keep its node alive (RedisNodeRegistry: the field or the key).
    fx.store
        .redis()
        .commands()
        .sync()
        .del(
            fx.store.redis().keys().group("nodes", "node", A),
            fx.store.redis().keys().group("nodes", "node", B));
    fx.store.redis().commands().sync().hset(leases, Map.of(A, past, B, past));
    assertThat(leaseListed(A) || leaseListed(B)).isFalse();
    for (int i = 0; i < 5; i++) {
      assertThat(aOwnsTheDevice()).as("read %d before B renews", i).isTrue();
    }
    // B's next heartbeat finds its lease had lapsed; sweeps and its clean-up wait.
    long lapsed = registry.lapsed.size();
    await().atMost(WAIT).until(() -> registry.lapsed.size() > lapsed);
    Thread.sleep(3 * SWEEP.toMillis());
    assertThat(aOwnsTheDevice()).isTrue();
    join(fx.store.nodes().heartbeat(A, LEASE));
    aBeats.set(true);
    expectNothingReleasedFor(BEAT.multipliedBy(3));
    aStopsForGood();
  }

  private void expectNothingReleasedFor(Duration d) {
    await()
        .during(d)
        .atMost(d.plus(WAIT))
        .until(() -> aOwnsTheDevice() && fx.published.isEmpty() && !registry.claimed.contains(A));
    assertThat(metrics.registry().counter("presence.cluster.dead_nodes_cleaned").getCount())
        .isZero();
  }

  /** The control: once A stops beating for good, B does release its device and publishes it. */
  private void aStopsForGood() {
    aBeats.set(false);
    await().atMost(WAIT).until(() -> !aOwnsTheDevice());
    await().atMost(WAIT).until(() -> fx.published.contains(USER));
  }

  /**
   * B's view of the real registry on Redis: while {@code down}, every call fails as in an outage.
   * Records B's renewals, those that found its lease lapsed, and the dead nodes B claimed.
   */
  private static final class OutageRegistry implements NodeRegistry {
    final AtomicBoolean down = new AtomicBoolean();
    final List<String> lapsed = new CopyOnWriteArrayList<>();
    final List<Renewal> renewals = new CopyOnWriteArrayList<>();
    final List<String> claimed = new CopyOnWriteArrayList<>();
    private final NodeRegistry redis;

    OutageRegistry(NodeRegistry redis) {
      this.redis = redis;
    }

    private <T> CompletionStage<T> call(java.util.function.Supplier<CompletionStage<T>> c) {
      if (down.get()) {
        return CompletableFuture.failedFuture(new IllegalStateException("Redis unavailable"));
      }
      return c.get();
    }

    @Override
    public CompletionStage<Boolean> heartbeat(String nodeId, Duration lease) {
      return call(() -> redis.heartbeat(nodeId, lease));
    }

    @Override
    public CompletionStage<Renewal> renew(String nodeId, Duration lease) {
      return call(() -> redis.renew(nodeId, lease))
          .thenApply(
              r -> {
                renewals.add(r);
                if (r == Renewal.LAPSED) {
                  lapsed.add(nodeId);
                }
                return r;
              });
    }

    @Override
    public CompletionStage<List<String>> expired() {
      return call(redis::expired);
    }

    @Override
    public CompletionStage<Boolean> claim(String deadNodeId, String claimer) {
      return call(() -> redis.claim(deadNodeId, claimer))
          .thenApply(
              won -> {
                if (won) {
                  claimed.add(deadNodeId);
                }
                return won;
              });
    }

    @Override
    public CompletionStage<Void> cleaned(String deadNodeId, String claimer) {
      return call(() -> redis.cleaned(deadNodeId, claimer));
    }

    @Override
    public CompletionStage<Void> leave(String nodeId) {
      return call(() -> redis.leave(nodeId));
    }

    @Override
    public CompletionStage<List<String>> alive() {
      return call(redis::alive);
    }

    @Override
    public CompletionStage<Boolean> holdLease(String name, String holder, Duration ttl) {
      return call(() -> redis.holdLease(name, holder, ttl));
    }
  }
}
