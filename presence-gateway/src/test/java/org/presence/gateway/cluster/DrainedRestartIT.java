package org.presence.gateway.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.store.testing.Futures.join;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.config.ClusterConfig;
import org.presence.gateway.config.ConfigLoader;
import org.presence.gateway.config.PresenceConfig;
import org.presence.gateway.device.DeviceChannel;
import org.presence.gateway.error.Disconnector;
import org.presence.gateway.error.ExceptionHandler;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.identity.Identity;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.Store;
import org.presence.store.config.StoreConfig;
import org.presence.store.presence.DeviceState;
import org.presence.store.testing.Backends;

/**
 * A node restarted under the same {@code node-id} on a real Redis ({@link NodeLiveness#start}).
 * After a drain, the restarted run leaves the drained run's devices as the survivors would: those
 * that come back (here to node {@value #P2}, played by the test) stay online and no change of
 * theirs is published, and one that never comes back is released once the lease from the drain has
 * run out, not at start. After a crash (no drain recorded) or once the drain's lease has run out,
 * the restarted run releases what is left at start, as before.
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
  private final List<String> published = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService p2 = Executors.newSingleThreadScheduledExecutor();
  private final List<NodeLiveness> runs = new ArrayList<>();
  private Store store;
  private DeviceChannel devices;

  @BeforeEach
  void open() {
    StoreConfig storeConfig =
        new StoreConfig(
            dir.resolve("store"),
            StoreConfig.DatabaseConfig.embedded(),
            Backends.redis(Backends.uniquePrefix(getClass())),
            2,
            64);
    store = Store.open(storeConfig);
    PresenceConfig config =
        ConfigLoader.load(null, Map.of(), TestNode.baseSettings(dir.resolve("node")));
    GatewayMetrics metrics = GatewayMetrics.create();
    Disconnector disconnector = new Disconnector(metrics);
    devices =
        DeviceChannel.start(
            config,
            token ->
                CompletableFuture.completedFuture(
                    new Identity(token, "", Instant.now().plusSeconds(60))),
            store,
            (user, update, now) -> {
              published.add(user);
              return CompletableFuture.completedFuture(null);
            },
            metrics,
            disconnector,
            new ExceptionHandler(disconnector),
            HttpRoutes.builder());
    // The survivor the devices reconnect to: it beats, so its devices are never taken for orphans.
    join(store.nodes().heartbeat(P2, LEASE));
    p2.scheduleWithFixedDelay(
        () -> join(store.nodes().heartbeat(P2, LEASE)),
        BEAT.toMillis(),
        BEAT.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  @AfterEach
  void close() throws Exception {
    p2.shutdownNow();
    p2.awaitTermination(5, TimeUnit.SECONDS);
    for (NodeLiveness l : runs) {
      l.close();
    }
    if (devices != null) {
      devices.close();
    }
    if (store != null) {
      store.close();
    }
  }

  /** A run of node {@value #P1}, with metrics of its own. */
  private NodeLiveness startP1() {
    NodeLiveness l =
        NodeLiveness.start(
            CLUSTER, P1, store.nodes(), store.presence(), devices, GatewayMetrics.create(), true);
    runs.add(l);
    return l;
  }

  /** Claims {@code user}'s phone for a new session of {@code node}, online; the session. */
  private UUID online(String user, String node) {
    UUID session = UUID.randomUUID();
    long now = System.currentTimeMillis();
    join(store.presence().claim(user, "phone", session, node, 5, now));
    join(store.presence().update(user, "phone", session, PresenceStatus.ONLINE, null, null, now));
    return session;
  }

  private boolean owns(String user, UUID session) {
    DeviceState d = join(store.presence().devices(user)).get("phone");
    return d != null && session.equals(d.session());
  }

  @Test
  void drainedNodeRestarted_releasesOnlyTheDevicesNotBackOnceItsLeaseFromTheDrainRanOut()
      throws Exception {
    NodeLiveness first = startP1();
    List<String> users = List.of("u1", "u2", "u3", "gone");
    List<UUID> sessions = new ArrayList<>();
    for (String u : users) {
      sessions.add(online(u, P1));
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
    assertThat(published).isEmpty();

    // Three devices come back on the survivor after the restart, before the lease runs out.
    Thread.sleep(BEAT.toMillis());
    List<UUID> back = new ArrayList<>();
    for (String u : users.subList(0, 3)) {
      back.add(online(u, P2));
    }
    assertThat(owns("gone", sessions.get(3))).isTrue();
    assertThat(published).isEmpty();

    // The one that never came back goes once the lease from the drain has run out.
    await().atMost(WAIT).until(() -> !owns("gone", sessions.get(3)));
    assertThat(Duration.ofNanos(System.nanoTime() - drained))
        .as("released once the drained run's lease ran out")
        .isGreaterThanOrEqualTo(LEASE.minus(BEAT.multipliedBy(2)));
    await().atMost(WAIT).until(() -> published.contains("gone"));
    await().during(BEAT.multipliedBy(2)).atMost(WAIT).until(() -> published.size() == 1);
    for (int i = 0; i < 3; i++) {
      assertThat(owns(users.get(i), back.get(i))).isTrue();
    }
    assertThat(published).containsExactly("gone");
  }

  @Test
  void crashedNodeRestarted_releasesWhatItLeftAtStart() {
    // A first run that never drained: it beat and held a device, then stopped beating (SIGKILL).
    join(store.nodes().heartbeat(P1, LEASE));
    UUID session = online("crashed", P1);
    startP1();
    assertThat(owns("crashed", session)).as("released at start").isFalse();
    assertThat(published).containsExactly("crashed");
  }

  @Test
  void drainedNodeRestartedAfterItsLeaseRanOut_releasesWhatItLeftAtStart() throws Exception {
    NodeLiveness first = startP1();
    UUID session = online("late", P1);
    first.close();
    Thread.sleep(LEASE.plus(BEAT).toMillis());
    startP1();
    assertThat(owns("late", session)).as("released at start").isFalse();
    assertThat(published).containsExactly("late");
  }
}
