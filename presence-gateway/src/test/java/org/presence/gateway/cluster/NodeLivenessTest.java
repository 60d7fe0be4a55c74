package org.presence.gateway.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.store.testing.Futures.join;

import ch.qos.logback.classic.Level;
import io.netty.channel.Channel;
import io.netty.channel.DefaultEventLoopGroup;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.local.LocalChannel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.config.ClusterConfig;
import org.presence.gateway.device.RecordingSession;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.metrics.PrometheusExporter;
import org.presence.gateway.testing.LogCapture;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.cluster.LocalNodeRegistry;
import org.presence.store.cluster.NodeRegistry;

/**
 * {@link NodeLiveness} with the embedded store and the real device channel, and a node registry the
 * test scripts (the embedded one never declares anyone dead): heartbeats that fail or find the node
 * declared dead, and dead nodes to clean up after. Pins: devices left under the node's own id are
 * released at start; a lost lease ends every device session here once, and beating goes on; after
 * failed heartbeats nobody is judged for two beats; a dead node is claimed once, its devices
 * released, and it is reported cleaned, a failed clean-up being retried; the node never judges
 * itself; close stops the beats; nodes of an earlier build are counted, and warned of at most every
 * few minutes while this node decides on node.
 */
class NodeLivenessTest {
  private static final String ME = "node-a";
  private static final Duration BEAT = Duration.ofMillis(50);
  private static final Duration WAIT = Duration.ofSeconds(10);

  @TempDir Path dir;
  private final GatewayMetrics metrics = GatewayMetrics.create();
  private final ScriptedRegistry registry = new ScriptedRegistry();
  private LivenessFixture fx;
  private NodeLiveness liveness;

  @BeforeEach
  void open() {
    fx = LivenessFixture.embedded(dir, metrics);
  }

  @AfterEach
  void close() {
    if (liveness != null) {
      liveness.close();
    }
    fx.close();
  }

  @org.junit.jupiter.api.Test
  void start_whenTheLeaseCannotBeTaken_failsNamingTheRedisUrl() {
    registry.failing.set(true);
    org.assertj.core.api.Assertions.assertThatThrownBy(this::start)
        .isInstanceOfSatisfying(
            org.presence.store.error.StartupException.class,
            e -> {
              org.assertj.core.api.Assertions.assertThat(e.setting()).isEqualTo("store.redis.url");
              org.assertj.core.api.Assertions.assertThat(e.getMessage())
                  .isEqualTo("cannot take the node's lease: registry down");
            });
  }

  private void start() {
    start(false, Clock.systemUTC());
  }

  private void start(boolean decidesOnNode, Clock clock) {
    liveness =
        NodeLiveness.start(
            new ClusterConfig(Duration.ofSeconds(1), BEAT, Duration.ofHours(1), 100),
            ME,
            registry,
            fx.store.presence(),
            fx.devices,
            metrics,
            true,
            decidesOnNode,
            clock);
  }

  private long count(String name) {
    return metrics.registry().counter(name).getCount();
  }

  /** An online device of {@code user} owned by a session of {@code node}. */
  private void deviceOn(String user, String node) {
    fx.online(user, node);
    assertThat(join(fx.store.presence().devicesOn(node))).hasSize(1);
  }

  @Test
  void atStart_devicesLeftUnderItsOwnId_areReleased_beforeItReturns() {
    deviceOn("alice", ME);
    start();
    assertThat(join(fx.store.presence().devicesOn(ME))).isEmpty();
    assertThat(join(fx.store.presence().devices("alice")).values())
        .allMatch(d -> d.session() == null);
    assertThat(count("presence.cluster.devices_released")).isEqualTo(1);
  }

  @Test
  void aHeartbeatThatFindsTheNodeDeclaredDead_endsEverySessionHere_andBeatingGoesOn()
      throws Exception {
    EventLoopGroup loop = new DefaultEventLoopGroup(1);
    try {
      // Sessions are ended on their event loop: an unconnected channel registered with one.
      Channel ch = new LocalChannel();
      loop.register(ch).sync();
      RecordingSession one =
          RecordingSession.open(fx.devices.registry(), "erin", UUID.randomUUID(), ch);
      RecordingSession two =
          RecordingSession.open(fx.devices.registry(), "erin", UUID.randomUUID(), ch);
      start();
      long beats = registry.beats();
      registry.declaredDead.set(true);
      await().atMost(WAIT).until(() -> count("presence.cluster.lease_lost") == 1);
      await().atMost(WAIT).until(() -> one.aborts().size() == 1 && two.aborts().size() == 1);
      assertThat(one.aborts()).containsExactly(ErrorCode.SESSION_ABORTED);
      await().atMost(WAIT).until(() -> registry.beats() > beats + 3);
      assertThat(count("presence.cluster.lease_lost")).isEqualTo(1);
      assertThat(two.aborts()).as("once").containsExactly(ErrorCode.SESSION_ABORTED);
      assertThat(liveness.leaseOk()).isTrue();
      ch.close();
    } finally {
      loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }

  @Test
  void failedHeartbeats_clearTheLease_andNobodyIsJudgedForTwoBeatsAfterTheyWorkAgain() {
    start();
    registry.failing.set(true);
    await().atMost(WAIT).until(() -> !liveness.leaseOk());
    assertThat(count("presence.cluster.heartbeat_failures")).isPositive();
    assertThat(metrics.registry().getGauges().get("presence.cluster.lease_ok").getValue())
        .isEqualTo(0);
    registry.dead.add("node-b");
    registry.failing.set(false);
    await().atMost(WAIT).until(() -> registry.calls.contains("expired"));
    assertThat(liveness.leaseOk()).isTrue();
    List<String> calls = new ArrayList<>(registry.calls);
    int lastFailure = calls.lastIndexOf("heartbeat-failed");
    int firstScan = calls.subList(lastFailure, calls.size()).indexOf("expired") + lastFailure;
    assertThat(calls.subList(lastFailure, firstScan))
        .as("beats between the last failure and the first scan")
        .filteredOn("heartbeat"::equals)
        .hasSizeGreaterThanOrEqualTo(2);
  }

  @Test
  void aDeadNode_isClaimedOnce_itsDevicesReleased_andReportedCleaned() {
    deviceOn("bob", "node-b");
    start();
    registry.dead.add("node-b");
    await().atMost(WAIT).until(() -> registry.calls.contains("cleaned:node-b"));
    assertThat(join(fx.store.presence().devicesOn("node-b"))).isEmpty();
    assertThat(join(fx.store.presence().devices("bob")).values())
        .allMatch(d -> d.session() == null);
    assertThat(count("presence.cluster.dead_nodes_cleaned")).isEqualTo(1);
    assertThat(count("presence.cluster.devices_released")).isEqualTo(1);
    assertThat(registry.calls).containsOnlyOnce("claim:node-b");
  }

  /**
   * A node that drained and never came back (scaled in) is cleaned up as a dead one is, but
   * reported as having left on purpose: INFO and its own counter, no WARN, not counted dead.
   */
  @Test
  void aDrainedNodeThatDidNotComeBack_isCleanedUp_andReportedAsDrained_notDead() {
    deviceOn("bob", "node-b");
    try (LogCapture log = LogCapture.of(NodeLiveness.class)) {
      start();
      registry.drained.add("node-b");
      registry.dead.add("node-b");
      await().atMost(WAIT).until(() -> registry.calls.contains("cleaned:node-b"));
      assertThat(join(fx.store.presence().devicesOn("node-b"))).isEmpty();
      assertThat(count("presence.cluster.drained_nodes_cleaned")).isEqualTo(1);
      assertThat(count("presence.cluster.dead_nodes_cleaned")).isZero();
      assertThat(count("presence.cluster.devices_released")).isEqualTo(1);
      assertThat(log.at(Level.WARN)).noneMatch(l -> l.contains("node-b"));
      assertThat(log.at(Level.INFO)).anyMatch(l -> l.contains("node node-b drained"));
    }
  }

  /** When the registry cannot say whether the node drained, it is reported dead and cleaned up. */
  @Test
  void aNodeTheRegistryCannotSayDrained_isCleanedUp_andReportedDead() {
    deviceOn("bob", "node-b");
    start();
    registry.drainedFails.set(true);
    registry.dead.add("node-b");
    await().atMost(WAIT).until(() -> registry.calls.contains("cleaned:node-b"));
    assertThat(join(fx.store.presence().devicesOn("node-b"))).isEmpty();
    assertThat(count("presence.cluster.dead_nodes_cleaned")).isEqualTo(1);
  }

  @Test
  void aCleanUpThatFails_isRetriedOnALaterBeat_withoutClaimingAgain() {
    deviceOn("carol", "node-b");
    start();
    registry.failCleanedOnce.set(true);
    registry.dead.add("node-b");
    await().atMost(WAIT).until(() -> registry.dead.isEmpty());
    assertThat(registry.calls).filteredOn("cleaned:node-b"::equals).hasSize(2);
    assertThat(registry.calls).containsOnlyOnce("claim:node-b");
    assertThat(join(fx.store.presence().devicesOn("node-b"))).isEmpty();
  }

  @Test
  void aCleanUpThatKeepsFailing_waitsLongerBeforeEachTry() {
    deviceOn("carol", "node-b");
    start();
    registry.failCleanedTimes.set(2);
    registry.dead.add("node-b");
    await().atMost(WAIT).until(() -> registry.dead.isEmpty());
    List<Integer> tries = new ArrayList<>();
    List<String> calls = List.copyOf(registry.calls);
    for (int i = 0; i < calls.size(); i++) {
      if (calls.get(i).equals("cleaned:node-b")) {
        tries.add(i);
      }
    }
    assertThat(tries).hasSize(3);
    // The retry policy waits a beat after the first failure and two after the second (each with
    // up to a fifth more), so the beats between tries grow: at least one, then at least two.
    assertThat(beatsBetween(calls, tries.get(0), tries.get(1))).isGreaterThanOrEqualTo(1);
    assertThat(beatsBetween(calls, tries.get(1), tries.get(2))).isGreaterThanOrEqualTo(2);
    assertThat(registry.calls).containsOnlyOnce("claim:node-b");
  }

  private static long beatsBetween(List<String> calls, int from, int to) {
    return calls.subList(from, to).stream().filter("heartbeat"::equals).count();
  }

  @Test
  void theNodeNeverJudgesItself() {
    deviceOn("dave", "node-c");
    start();
    registry.dead.add(ME);
    registry.dead.add("node-c");
    await().atMost(WAIT).until(() -> registry.calls.contains("cleaned:node-c"));
    assertThat(registry.calls).doesNotContain("claim:" + ME);
  }

  @Test
  void close_stopsTheBeats() {
    start();
    await().atMost(WAIT).until(() -> registry.beats() > 2);
    liveness.close();
    long beats = registry.beats();
    await().during(Duration.ofMillis(300)).atMost(WAIT).until(() -> registry.beats() == beats);
  }

  private Object gauge(String name) {
    return metrics.registry().getGauges().get(name).getValue();
  }

  /** The node's Prometheus exposition, as {@code GET /metrics} on the admin port answers it. */
  private String scrape() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new PrometheusExporter(metrics.registry()).write(out);
    return out.toString(StandardCharsets.UTF_8);
  }

  /**
   * A node of a build before the lease hash runs beside this one, which decides on node: one WARN
   * naming it, the setting and the upgrade section, not again at every beat but once the interval
   * has passed; the gauge counts it, and drops to 0 once it is gone.
   */
  @Test
  void aNodeOfAnEarlierBuild_isWarnedOfAtMostEveryFewMinutes_andCounted_whileDecidingOnNode()
      throws IOException {
    MovableClock clock = new MovableClock();
    try (LogCapture log = LogCapture.of(NodeLiveness.class)) {
      registry.earlier.add("node-old");
      start(true, clock);
      await().atMost(WAIT).until(() -> !warnings(log).isEmpty());
      assertThat(warnings(log)).hasSize(1);
      assertThat(gauge("presence.cluster.earlier_version_nodes")).isEqualTo(1);
      assertThat(scrape()).contains("presence_cluster_earlier_version_nodes 1.0");
      assertThat(warnings(log).get(0))
          .contains("[node-old]")
          .contains("store.redis.decide-on-node = false")
          .contains("Upgrading to node decisions")
          .contains("before 285b3212")
          .contains("also before 263902fd");

      long beats = registry.beats();
      await().atMost(WAIT).until(() -> registry.beats() > beats + 5);
      assertThat(warnings(log)).as("not at every beat").hasSize(1);

      clock.advance(NodeLiveness.EARLIER_VERSION_WARN_EVERY);
      await().atMost(WAIT).until(() -> warnings(log).size() >= 2);
      long later = registry.beats();
      await().atMost(WAIT).until(() -> registry.beats() > later + 5);
      assertThat(warnings(log)).hasSize(2);

      registry.earlier.clear();
      await().atMost(WAIT).until(() -> (int) gauge("presence.cluster.earlier_version_nodes") == 0);
      assertThat(scrape()).contains("presence_cluster_earlier_version_nodes 0.0");
      await()
          .atMost(WAIT)
          .until(() -> log.at(Level.INFO).stream().anyMatch(l -> l.contains("any more")));

      registry.earlier.add("node-old-2");
      await().atMost(WAIT).until(() -> warnings(log).size() >= 3);
      assertThat(warnings(log)).hasSize(3);
      assertThat(warnings(log).get(2)).as("at once when one runs again").contains("[node-old-2]");
    }
  }

  /**
   * A node that leaves the decisions to Redis counts nodes of an earlier build but says nothing.
   */
  @Test
  void aNodeOfAnEarlierBuild_isCountedButNotWarnedOf_whenTheScriptsDecide() {
    try (LogCapture log = LogCapture.of(NodeLiveness.class)) {
      registry.earlier.add("node-old");
      start(false, Clock.systemUTC());
      await().atMost(WAIT).until(() -> (int) gauge("presence.cluster.earlier_version_nodes") == 1);
      long beats = registry.beats();
      await().atMost(WAIT).until(() -> registry.beats() > beats + 3);
      assertThat(warnings(log)).isEmpty();
    }
  }

  /** The system clock, moved on by the test. */
  private static final class MovableClock extends Clock {
    private final AtomicLong ahead = new AtomicLong();

    void advance(Duration d) {
      ahead.addAndGet(d.toMillis());
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Instant instant() {
      return Instant.now().plusMillis(ahead.get());
    }
  }

  /** The WARN lines of {@code log} about a node's clock being earlier. */
  private static List<String> warnings(LogCapture log) {
    return log.at(Level.WARN).stream().filter(l -> l.contains("earlier")).toList();
  }

  /** A node registry whose answers the test decides; records every call. */
  private static final class ScriptedRegistry implements NodeRegistry {
    final List<String> calls = new CopyOnWriteArrayList<>();
    final List<String> dead = new CopyOnWriteArrayList<>();
    final List<String> earlier = new CopyOnWriteArrayList<>();
    final List<String> drained = new CopyOnWriteArrayList<>();
    final AtomicBoolean drainedFails = new AtomicBoolean();
    final AtomicBoolean failing = new AtomicBoolean();
    final AtomicBoolean declaredDead = new AtomicBoolean();
    final AtomicBoolean failCleanedOnce = new AtomicBoolean();
    final java.util.concurrent.atomic.AtomicInteger failCleanedTimes =
        new java.util.concurrent.atomic.AtomicInteger();
    private final LocalNodeRegistry leases = new LocalNodeRegistry();

    long beats() {
      return calls.stream().filter(c -> c.startsWith("heartbeat")).count();
    }

    @Override
    public CompletionStage<Boolean> heartbeat(String nodeId, Duration lease) {
      if (failing.get()) {
        calls.add("heartbeat-failed");
        return CompletableFuture.failedFuture(new IllegalStateException("registry down"));
      }
      calls.add("heartbeat");
      return CompletableFuture.completedFuture(!declaredDead.getAndSet(false));
    }

    @Override
    public CompletionStage<List<String>> expired() {
      calls.add("expired");
      return CompletableFuture.completedFuture(List.copyOf(dead));
    }

    @Override
    public CompletionStage<Survey> survey() {
      return expired().thenApply(d -> new Survey(d, List.copyOf(earlier)));
    }

    @Override
    public CompletionStage<Boolean> claim(String deadNodeId, String claimer) {
      calls.add("claim:" + deadNodeId);
      return CompletableFuture.completedFuture(dead.contains(deadNodeId));
    }

    @Override
    public CompletionStage<Boolean> drainedBefore(String nodeId) {
      calls.add("drainedBefore:" + nodeId);
      if (drainedFails.get()) {
        return CompletableFuture.failedFuture(new IllegalStateException("registry down"));
      }
      return CompletableFuture.completedFuture(drained.contains(nodeId));
    }

    @Override
    public CompletionStage<Void> cleaned(String deadNodeId, String claimer) {
      calls.add("cleaned:" + deadNodeId);
      if (failCleanedOnce.getAndSet(false) || failCleanedTimes.getAndDecrement() > 0) {
        return CompletableFuture.failedFuture(new IllegalStateException("registry down"));
      }
      dead.remove(deadNodeId);
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<Void> leave(String nodeId) {
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<List<String>> alive() {
      return CompletableFuture.completedFuture(List.of(ME));
    }

    @Override
    public CompletionStage<Boolean> holdLease(String name, String holder, Duration ttl) {
      return leases.holdLease(name, holder, ttl);
    }
  }
}
