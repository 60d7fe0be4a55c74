package org.presence.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.NotifyFixture.App;
import org.presence.gateway.testing.SentinelRedis;
import org.presence.gateway.testing.TestCluster;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.UpdateClient;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.LiveNotification;
import org.presence.protocol.device.DeviceMessage.Notifications;
import org.presence.protocol.model.PresenceStatus;

/**
 * Two nodes on Redis Sentinel ({@code redis-sentinel://}, a primary, one replica, three sentinels)
 * with {@code store.redis.ack-replicas=1}: notifications are posted all along while the replica
 * falls behind (stalled, its link cut) and the primary is killed with SIGKILL. Writes the replica
 * never received are refused, not acknowledged; the sentinels promote the replica and the nodes
 * follow by themselves; every acknowledged notification is delivered afterwards, and presence set
 * before the kill and changed after it converges.
 */
class SentinelFailoverIT {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path root;

  private static DeviceMessage status(DeviceTestClient d, PresenceStatus s, String message) {
    return d.status(s, message);
  }

  @Test
  void primaryKilled_replicaPromoted_nodesFollow_noAcknowledgedNotificationLost() throws Exception {
    Map<String, String> common = new HashMap<>();
    common.put("identity.dev-signing", "true");
    common.put("outbound.allow-loopback", "true");
    common.put("device.handshake-rate", "0");
    common.put("device.offline-grace", "500ms");
    common.put("notifications.default-ttl", "10m");
    common.put("store.redis.ack-replicas", "1");
    common.put("store.redis.ack-timeout", "300ms");
    List<AutoCloseable> open = new ArrayList<>();
    // The cluster first: without PostgreSQL (and the backends' environment) the test is skipped.
    try (TestCluster cluster =
            TestCluster.create(SentinelFailoverIT.class, root, "sentinel-it", common);
        SentinelRedis redis = SentinelRedis.start();
        DomainStub site = DomainStub.start()) {
      try {
        run(redis, cluster, site, open);
      } finally {
        for (int i = open.size() - 1; i >= 0; i--) {
          open.get(i).close();
        }
      }
    }
  }

  private static void run(
      SentinelRedis redis, TestCluster cluster, DomainStub site, List<AutoCloseable> open)
      throws Exception {
    Map<String, String> onSentinel = Map.of("store.redis.url", redis.url());
    TestNode a = cluster.start(onSentinel);
    open.add(a);
    TestNode b = cluster.start(onSentinel);
    open.add(b);
    App app =
        NotifyFixture.activeApp(a, site, "dev-" + UUID.randomUUID() + "@example.com", "Sentinel");
    String user = "u-" + UUID.randomUUID() + "@example.com";
    String puid = NotifyFixture.grant(a, user, app.id());
    String sleeper = "s-" + UUID.randomUUID() + "@example.com";
    String sleeperPuid = NotifyFixture.grant(a, sleeper, app.id());

    DeviceTestClient phone = DeviceTestClient.connected(a, a.token(user), null, "phone");
    open.add(phone);
    assertThat(status(phone, PresenceStatus.ONLINE, "before"))
        .isInstanceOf(DeviceMessage.Ack.class);
    try (UpdateClient onB = UpdateClient.connected(b, app.id(), app.key(), -1)) {
      assertThat(onB.snapshot().users().get(puid))
          .satisfies(i -> assertThat(i.status() + ":" + i.message()).isEqualTo("online:before"));
    }

    // Posts all along, one item each, for a user with no device: only Redis holds them.
    List<String> acked = new CopyOnWriteArrayList<>();
    AtomicInteger refused = new AtomicInteger();
    AtomicBoolean stop = new AtomicBoolean();
    Thread poster =
        new Thread(
            () -> {
              for (int i = 0; i < 400 && !stop.get() && acked.size() < 50; i++) {
                String m = "n-" + i;
                HttpResponse<String> r =
                    NotifyFixture.post(
                        b,
                        app.id(),
                        app.key(),
                        NotifyFixture.batch(NotifyFixture.item(sleeperPuid, m)));
                if (r.statusCode() == 200) {
                  if (NotifyFixture.ack(r).results().get(0).isStored()) {
                    acked.add(m);
                  }
                } else {
                  refused.incrementAndGet();
                }
                try {
                  Thread.sleep(100);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "sentinel-it-poster");
    poster.setDaemon(true);
    poster.start();
    await().atMost(WAIT).until(() -> acked.size() >= 3);

    // The replica falls behind: stalled, and its link cut on the primary, so nothing written
    // from now on reaches it. A write is then not acknowledged (WAIT 1 answers 0).
    redis.stopReplica();
    redis.cli(redis.primaryPort(), "CLIENT", "KILL", "TYPE", "replica");
    int ackedBefore = acked.size();
    HttpResponse<String> unreplicated =
        NotifyFixture.post(
            a,
            app.id(),
            app.key(),
            NotifyFixture.batch(NotifyFixture.item(sleeperPuid, "unreplicated")));
    assertThat(unreplicated.statusCode()).as(unreplicated.body()).isEqualTo(503);
    assertThat(unreplicated.body()).contains("\"errno\":502");
    await().atMost(WAIT).until(() -> refused.get() >= 2);

    // The primary dies with writes its replica never got; the replica resumes and is promoted.
    redis.killPrimary();
    redis.continueReplica();
    redis.awaitPrimary(redis.replicaPort(), WAIT.toMillis());

    // The nodes follow by themselves.
    await()
        .atMost(WAIT)
        .until(
            () ->
                a.get("/__heartbeat__").statusCode() == 200
                    && b.get("/__heartbeat__").statusCode() == 200);
    // The new primary has no replica yet: writes are refused rather than acknowledged unreplicated.
    HttpResponse<String> noReplica =
        NotifyFixture.post(
            a,
            app.id(),
            app.key(),
            NotifyFixture.batch(NotifyFixture.item(sleeperPuid, "no-replica")));
    assertThat(noReplica.body()).as("status " + noReplica.statusCode()).contains("\"errno\":502");

    // The failed primary comes back, empty, as the new primary's replica: acks resume.
    redis.restartPrimaryAsReplicaOf(redis.replicaPort());
    int ackedAfterFailover = acked.size();
    await().atMost(WAIT).until(() -> acked.size() >= ackedAfterFailover + 3);
    stop.set(true);
    poster.join(TimeUnit.SECONDS.toMillis(30));
    assertThat(acked.size()).isGreaterThan(ackedBefore);

    // Presence changed after the failover converges at the application, on the other node.
    if (phone.isClosed()) {
      phone = DeviceTestClient.connected(a, a.token(user), null, "phone");
      open.add(phone);
    }
    DeviceTestClient device = phone;
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(status(device, PresenceStatus.AWAY, "after"))
                    .isInstanceOf(DeviceMessage.Ack.class));
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              try (UpdateClient onB = UpdateClient.connected(b, app.id(), app.key(), -1)) {
                UpdateClient.Item i = onB.snapshot().users().get(puid);
                assertThat(i.status() + ":" + i.message()).isEqualTo("away:after");
              }
            });

    // Every acknowledged notification is still there.
    List<String> delivered = new ArrayList<>();
    try (DeviceTestClient late = DeviceTestClient.connected(b, b.token(sleeper), null, "laptop")) {
      Notifications n;
      while ((n = late.notifications(Duration.ofSeconds(2))) != null) {
        n.notifications().stream().map(LiveNotification::message).forEach(delivered::add);
      }
    }
    assertThat(delivered).as("refused meanwhile: " + refused.get()).containsAll(acked);
  }
}
