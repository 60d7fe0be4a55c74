package org.presence.gateway.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.store.testing.Futures.join;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.config.ClusterConfig;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.store.presence.DeviceState;

/**
 * A node restarted under the same {@code node-id} on a real Redis ({@link NodeLiveness#start}).
 * After a drain, the restarted run leaves the drained run's devices as the survivors would: those
 * that come back (here to node {@value #P2}, played by the test) stay online and no change of
 * theirs is fx.published, and one that never comes back is released once the lease from the drain
 * has run out, not at start. After a crash (no drain recorded) or once the drain's lease has run
 * out, the restarted run releases what is left at start, as before.
 */
class DrainedRestartIT {
  private static final String P1 = "gw-p1";
  private static final String P2 = "gw-p2";
  private static final Duration LEASE = Duration.ofSeconds(3);
  private static final Duration BEAT = Duration.ofMillis(500);
  private static final Duration SWEEP = Duration.ofMillis(200);
  private static final Duration WAIT = Duration.ofSeconds(15);
  private static final ClusterConfig CLUSTER = new ClusterConfig(LEASE, BEAT, SWEEP, 100);

  @TempDir Path dir;
  private final ScheduledExecutorService p2 = Executors.newSingleThreadScheduledExecutor();
  private final List<NodeLiveness> runs = new ArrayList<>();
  private LivenessFixture fx;

  @BeforeEach
  void open() {
    fx = LivenessFixture.onRedis(dir, getClass(), GatewayMetrics.create());
    // The survivor the devices reconnect to: it beats, so its devices are never taken for orphans.
    fx.beatAs(p2, P2, LEASE, BEAT, () -> true);
  }

  @AfterEach
  void close() throws Exception {
    p2.shutdownNow();
    p2.awaitTermination(5, TimeUnit.SECONDS);
    for (NodeLiveness l : runs) {
      l.close();
    }
    if (fx != null) {
      fx.close();
    }
  }

  /** A run of node {@value #P1}, with metrics of its own. */
  private NodeLiveness startP1() {
    NodeLiveness l =
        NodeLiveness.start(
            CLUSTER,
            P1,
            fx.store.nodes(),
            fx.store.presence(),
            fx.devices,
            GatewayMetrics.create(),
            true,
            false);
    runs.add(l);
    return l;
  }

  private boolean owns(String user, UUID session) {
    DeviceState d = join(fx.store.presence().devices(user)).get("phone");
    return d != null && session.equals(d.session());
  }

  @Test
  void drainedNodeRestarted_releasesOnlyTheDevicesNotBackOnceItsLeaseFromTheDrainRanOut()
      throws Exception {
    NodeLiveness first = startP1();
    List<String> users = List.of("u1", "u2", "u3", "gone");
    List<UUID> sessions = new ArrayList<>();
    for (String u : users) {
      sessions.add(fx.online(u, P1));
    }
    // SIGTERM: the first run drains (its sockets were told 1001), then at once the node starts
    // again under the same id.
    first.close();
    long drained = System.nanoTime();
    startP1();
    for (int i = 0; i < users.size(); i++) {
      assertThat(owns(users.get(i), sessions.get(i)))
          .as("%s left to come back, not released at start", users.get(i))
          .isTrue();
    }
    assertThat(fx.published).isEmpty();

    // Three devices come back on the survivor after the restart, before the lease runs out.
    Thread.sleep(BEAT.toMillis());
    List<UUID> back = new ArrayList<>();
    for (String u : users.subList(0, 3)) {
      back.add(fx.online(u, P2));
    }
    assertThat(owns("gone", sessions.get(3))).isTrue();
    assertThat(fx.published).isEmpty();

    // The one that never came back goes once the lease from the drain has run out.
    await().atMost(WAIT).until(() -> !owns("gone", sessions.get(3)));
    assertThat(Duration.ofNanos(System.nanoTime() - drained))
        .as("released once the drained run's lease ran out")
        .isGreaterThanOrEqualTo(LEASE.minus(BEAT.multipliedBy(2)));
    await().atMost(WAIT).until(() -> fx.published.contains("gone"));
    await().during(BEAT.multipliedBy(2)).atMost(WAIT).until(() -> fx.published.size() == 1);
    for (int i = 0; i < 3; i++) {
      assertThat(owns(users.get(i), back.get(i))).isTrue();
    }
    assertThat(fx.published).containsExactly("gone");
  }

  @Test
  void crashedNodeRestarted_releasesWhatItLeftAtStart() {
    // A first run that never drained: it beat and held a device, then stopped beating (SIGKILL).
    join(fx.store.nodes().heartbeat(P1, LEASE));
    UUID session = fx.online("crashed", P1);
    startP1();
    assertThat(owns("crashed", session)).as("released at start").isFalse();
    assertThat(fx.published).containsExactly("crashed");
  }

  @Test
  void drainedNodeRestartedAfterItsLeaseRanOut_releasesWhatItLeftAtStart() throws Exception {
    NodeLiveness first = startP1();
    UUID session = fx.online("late", P1);
    first.close();
    Thread.sleep(LEASE.plus(BEAT).toMillis());
    startP1();
    assertThat(owns("late", session)).as("released at start").isFalse();
    assertThat(fx.published).containsExactly("late");
  }
}
