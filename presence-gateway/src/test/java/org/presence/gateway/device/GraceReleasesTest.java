package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.store.testing.Futures.join;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.presence.LocalPresenceStateStore;
import org.presence.store.presence.PresenceChange;
import org.presence.store.presence.PresenceUpdate;

/** The offline grace period and orphan releases over the in-process state store. */
class GraceReleasesTest {
  private static final Duration WAIT = Duration.ofSeconds(5);

  private final LocalPresenceStateStore state = new LocalPresenceStateStore();
  private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
  private final List<String> published = new CopyOnWriteArrayList<>();

  @AfterEach
  void tearDown() {
    timers.shutdownNow();
  }

  private GraceReleases releases(Duration grace) {
    return new GraceReleases(state, this::record, timers, grace, Clock.systemUTC());
  }

  private CompletionStage<Void> record(String user, PresenceUpdate update, long now) {
    for (PresenceChange c : update.changes()) {
      published.add(user + ":" + c.appId() + ":" + c.status().wireName());
    }
    return CompletableFuture.completedFuture(null);
  }

  /** A session of {@code user} on this node owning {@code device}, online. */
  private UUID online(String user, String device) {
    UUID id = UUID.randomUUID();
    join(state.claim(user, device, id, "node-a", 10, System.currentTimeMillis()));
    join(
        state.update(
            user, device, id, PresenceStatus.ONLINE, null, null, null, System.currentTimeMillis()));
    return id;
  }

  @Test
  void closed_thenReleasedAfterTheGraceOnly() {
    GraceReleases r = releases(Duration.ofMillis(300));
    UUID id = online("alice", "phone");
    r.closed("alice", "phone", id);
    assertThat(r.pendingReleases()).isEqualTo(1);
    assertThat(published).isEmpty();
    await().atMost(WAIT).until(() -> published.size() == 1);
    assertThat(published).containsExactly("alice:0:offline");
    assertThat(r.pendingReleases()).isZero();
    assertThat(join(state.devices("alice"))).isEmpty();
  }

  @Test
  void closed_withNoGrace_thenReleasedAtOnce() {
    GraceReleases r = releases(Duration.ZERO);
    UUID id = online("alice", "phone");
    r.closed("alice", "phone", id);
    assertThat(published).containsExactly("alice:0:offline");
    assertThat(r.pendingReleases()).isZero();
  }

  @Test
  void closed_thenDeviceClaimedAnewWithinTheGrace_thenNotReleased() {
    GraceReleases r = releases(Duration.ofMillis(200));
    UUID first = online("alice", "phone");
    r.closed("alice", "phone", first);
    UUID second = UUID.randomUUID();
    join(state.claim("alice", "phone", second, "node-a", 10, System.currentTimeMillis()));
    await().atMost(WAIT).until(() -> r.pendingReleases() == 0);
    assertThat(published).isEmpty();
    assertThat(join(state.devices("alice")).get("phone").session()).isEqualTo(second);
  }

  @Test
  void close_releasesPendingDevicesAtOnce_orLeavesThemToTheCluster() {
    GraceReleases r = releases(Duration.ofHours(1));
    UUID a = online("alice", "phone");
    r.closed("alice", "phone", a);
    r.close();
    assertThat(published).containsExactly("alice:0:offline");
    assertThat(r.pendingReleases()).isZero();

    GraceReleases draining = releases(Duration.ofHours(1));
    UUID b = online("bob", "phone");
    draining.closed("bob", "phone", b);
    draining.leavePendingToCluster(true);
    draining.close();
    assertThat(draining.pendingReleases()).isZero();
    assertThat(published).containsExactly("alice:0:offline");
    assertThat(join(state.devices("bob"))).containsOnlyKeys("phone");
  }

  @Test
  void releaseOrphan_byTwoSurvivors_thenReleasedAndPublishedOnce() {
    UUID id = online("alice", "phone");
    GraceReleases one = releases(Duration.ofSeconds(1));
    GraceReleases two = releases(Duration.ofSeconds(1));
    assertThat(join(one.releaseOrphan("alice", "phone", id))).isTrue();
    assertThat(join(two.releaseOrphan("alice", "phone", id))).isFalse();
    assertThat(published).containsExactly("alice:0:offline");
  }
}
