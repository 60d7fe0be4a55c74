package org.presence.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.identity.DevIdentity;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NodeProcess;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.NotifyFixture.App;
import org.presence.gateway.testing.PostgresProcess;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.UpdateClient;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.LiveNotification;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.testing.Backends;

/**
 * A cluster node whose PostgreSQL crashes and comes back: existing sessions keep working from the
 * caches (status updates reach the application, notifications reach the device), what needs the
 * database answers a clear error, {@code /__heartbeat__} names the database, and the node recovers
 * by itself. The PostgreSQL is the test's own, so that stopping it disturbs no other test.
 */
class DatabaseOutageIT {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path root;

  private static HttpResponse<String> get(NodeProcess node, String path) {
    return TestNode.send(
        HttpRequest.newBuilder(node.uri(path)).timeout(Duration.ofSeconds(10)).GET().build());
  }

  @Test
  void postgresCrashes_sessionsKeepWorkingFromCaches_writesFailClearly_nodeRecovers()
      throws Exception {
    Backends.redisUrl();
    if (!PostgresProcess.available()) {
      assertThat(System.getenv(Backends.REQUIRE))
          .as("PRESENCE_TEST_PG_BIN (set by bin/backends) is needed for this test")
          .isNull();
      assumeTrue(false, "no PostgreSQL binaries (PRESENCE_TEST_PG_BIN)");
    }
    Path dataDir = root.resolve("node");
    Files.createDirectories(dataDir);
    DevIdentity.loadOrCreate(dataDir);
    try (PostgresProcess pg = PostgresProcess.start();
        DomainStub site = DomainStub.start();
        NodeProcess node =
            NodeProcess.start(
                "db-outage",
                dataDir,
                root.resolve("logs"),
                List.of(
                    "--database-url", pg.url(),
                    "--redis-url", Backends.redisUrl(),
                    "--set",
                        "store.redis.key-prefix=" + Backends.uniquePrefix(DatabaseOutageIT.class),
                    "--set", "store.database.connect-timeout=2s",
                    "--set", "device.offline-grace=500ms",
                    "--set", "identity.dev-signing=true",
                    "--set", "outbound.allow-loopback=true",
                    "--set", "device.handshake-rate=0",
                    "--set", "gateway.drain-timeout=2s"))) {
      String dev = "dev-" + UUID.randomUUID() + "@example.com";
      App app = NotifyFixture.activeApp(node, site, dev, "Outage");
      String user = "u-" + UUID.randomUUID() + "@example.com";
      String puid = NotifyFixture.grant(node, user, app.id());
      String leaver = "l-" + UUID.randomUUID() + "@example.com";
      // A user whose grants this node has not read yet (as after the cache entry expired).
      String other = "o-" + UUID.randomUUID() + "@example.com";
      String otherPuid = NotifyFixture.grant(node, other, app.id());
      try (DeviceTestClient phone =
              DeviceTestClient.connected(node, node.token(user), null, "phone");
          DeviceTestClient tablet =
              DeviceTestClient.connected(node, node.token(other), null, "tablet");
          DeviceTestClient laptop =
              DeviceTestClient.connected(node, node.token(leaver), null, "laptop");
          UpdateClient updates = UpdateClient.connected(node, app.id(), app.key(), -1)) {
        updates.snapshot();
        assertThat(phone.status(PresenceStatus.ONLINE, null)).isInstanceOf(DeviceMessage.Ack.class);
        assertThat(updates.updates(1))
            .extracting(UpdateClient.Item::status)
            .containsExactly("online");
        String leaverPuid = onlineThenGranted(node, laptop, leaver, app, updates);
        NotifyFixture.ack(
            NotifyFixture.post(
                node,
                app.id(),
                app.key(),
                NotifyFixture.batch(NotifyFixture.item(puid, "before"))));
        assertThat(phone.notifications(1))
            .extracting(LiveNotification::message)
            .containsExactly("before");

        pg.crash();

        await().atMost(WAIT).until(() -> get(node, "/__heartbeat__").statusCode() == 503);
        assertThat(get(node, "/__heartbeat__").body())
            .contains("\"status\":\"degraded\"")
            .contains("\"failing\":[\"database\"]");
        // Gone while its grants cannot be read: stored offline, not published yet.
        leaves(node, laptop);
        // What the caches and Redis serve goes on.
        assertThat(phone.status(PresenceStatus.AWAY, "no database"))
            .isInstanceOf(DeviceMessage.Ack.class);
        assertThat(updates.updates(1))
            .extracting(i -> i.status() + ":" + i.message())
            .containsExactly("away:no database");
        NotifyFixture.ack(
            NotifyFixture.post(
                node,
                app.id(),
                app.key(),
                NotifyFixture.batch(NotifyFixture.item(puid, "during"))));
        assertThat(phone.notifications(1))
            .extracting(LiveNotification::message)
            .containsExactly("during");
        // What must write the database answers a temporary error with a JSON reason.
        HttpResponse<String> register =
            ApiClient.forEmail(node, dev)
                .post(
                    "/api/apps",
                    "{\"name\":\"Later\",\"domain\":\""
                        + site.domain()
                        + "\",\"description\":\"x\"}");
        assertThat(register.statusCode()).as(register.body()).isEqualTo(503);
        assertThat(NotifyFixture.json(register).path("errno").asInt()).isIn(501, 502);
        HttpResponse<String> grant =
            ApiClient.forEmail(node, "new-" + UUID.randomUUID() + "@example.com")
                .post("/api/grants", "{\"app_id\":" + app.id() + ",\"id\":\"someone\"}");
        assertThat(grant.statusCode()).as(grant.body()).isEqualTo(503);
        assertThat(NotifyFixture.json(grant).path("errno").asInt()).isIn(501, 502);
        assertThat(phone.isClosed()).isFalse();
        // A status whose grants are not cached is refused, stored nowhere, the session kept:
        // stored,
        // it would never reach the update channel, while snapshots and queries showed it.
        assertGrantsUnavailable(tablet.status(PresenceStatus.AWAY, "no grants"));
        assertThat(tablet.isClosed()).isFalse();
        assertThat(updates.drain(Duration.ofSeconds(1))).isEmpty();

        pg.startAgain();

        await().atMost(WAIT).until(() -> get(node, "/__heartbeat__").statusCode() == 200);
        // Published once the grants can be read again, once.
        assertThat(updates.updates(1))
            .extracting(i -> i.puid() + ":" + i.status())
            .containsExactly(leaverPuid + ":offline");
        await()
            .atMost(WAIT)
            .untilAsserted(
                () ->
                    assertThat(
                            ApiClient.forEmail(node, dev)
                                .post(
                                    "/api/apps",
                                    "{\"name\":\"Later\",\"domain\":\""
                                        + site.domain()
                                        + "\",\"description\":\"x\"}")
                                .statusCode())
                        .isEqualTo(201));
        assertThat(phone.status(PresenceStatus.ONLINE, "back"))
            .isInstanceOf(DeviceMessage.Ack.class);
        // Sent again, the refused status is stored and logged.
        assertThat(tablet.status(PresenceStatus.AWAY, "again"))
            .isInstanceOf(DeviceMessage.Ack.class);
        assertThat(updates.updates(2))
            .extracting(i -> i.puid() + ":" + i.status() + ":" + i.message())
            .containsExactly(puid + ":online:back", otherPuid + ":away:again");
        assertThat(updates.drain(Duration.ofSeconds(1))).isEmpty();
      }
    }
  }

  /**
   * One node on PostgreSQL without Redis (its state store in the process) answers the same: a
   * status whose grants cannot be read is refused with errno 502 and stored nowhere; a device gone
   * meanwhile is published offline once the grants can be read again.
   */
  @Test
  void singleNodeOnPostgres_statusWithoutCachedGrants_refusedNotStored() throws Exception {
    if (!PostgresProcess.available()) {
      assertThat(System.getenv(Backends.REQUIRE))
          .as("PRESENCE_TEST_PG_BIN (set by bin/backends) is needed for this test")
          .isNull();
      assumeTrue(false, "no PostgreSQL binaries (PRESENCE_TEST_PG_BIN)");
    }
    Path dataDir = root.resolve("single");
    Files.createDirectories(dataDir);
    DevIdentity.loadOrCreate(dataDir);
    try (PostgresProcess pg = PostgresProcess.start();
        DomainStub site = DomainStub.start();
        NodeProcess node =
            NodeProcess.start(
                "db-outage-single",
                dataDir,
                root.resolve("logs-single"),
                List.of(
                    "--database-url", pg.url(),
                    "--set", "store.database.connect-timeout=2s",
                    "--set", "device.offline-grace=500ms",
                    "--set", "identity.dev-signing=true",
                    "--set", "outbound.allow-loopback=true",
                    "--set", "device.handshake-rate=0",
                    "--set", "gateway.drain-timeout=2s"))) {
      String dev = "dev-" + UUID.randomUUID() + "@example.com";
      App app = NotifyFixture.activeApp(node, site, dev, "Outage");
      String user = "u-" + UUID.randomUUID() + "@example.com";
      String puid = NotifyFixture.grant(node, user, app.id());
      String leaver = "l-" + UUID.randomUUID() + "@example.com";
      try (DeviceTestClient phone =
              DeviceTestClient.connected(node, node.token(user), null, "phone");
          DeviceTestClient laptop =
              DeviceTestClient.connected(node, node.token(leaver), null, "laptop");
          UpdateClient updates = UpdateClient.connected(node, app.id(), app.key(), -1)) {
        updates.snapshot();
        String leaverPuid = onlineThenGranted(node, laptop, leaver, app, updates);

        pg.crash();

        await().atMost(WAIT).until(() -> get(node, "/__heartbeat__").statusCode() == 503);
        assertGrantsUnavailable(phone.status(PresenceStatus.AWAY, "no grants"));
        assertThat(phone.isClosed()).isFalse();
        leaves(node, laptop);
        assertThat(updates.drain(Duration.ofSeconds(1))).isEmpty();

        pg.startAgain();

        await().atMost(WAIT).until(() -> get(node, "/__heartbeat__").statusCode() == 200);
        assertThat(updates.updates(1))
            .extracting(i -> i.puid() + ":" + i.status())
            .containsExactly(leaverPuid + ":offline");
        HttpResponse<String> query = NotifyFixture.presence(node, app, puid);
        // The refused status is nowhere: the query does not show it either.
        assertThat(query.statusCode()).as(query.body()).isEqualTo(200);
        assertThat(query.body()).doesNotContain("no grants");
        assertThat(phone.status(PresenceStatus.AWAY, "again"))
            .isInstanceOf(DeviceMessage.Ack.class);
        assertThat(updates.updates(1))
            .extracting(i -> i.puid() + ":" + i.status() + ":" + i.message())
            .containsExactly(puid + ":away:again");
        assertThat(updates.drain(Duration.ofSeconds(1))).isEmpty();
      }
    }
  }

  /**
   * With the default connect timeout (5 s) and 8 database threads: once the node has found
   * PostgreSQL unreachable, calls that need it fail at once instead of each waiting the connect
   * timeout in line (32 calls took 4 rounds of 5 s), a status of a user whose grants are not cached
   * is refused at once, and calls run again within seconds of PostgreSQL's return.
   */
  @Test
  void postgresDown_callsFailAtOnce_notInLine_andRunAgainWhenItIsBack() throws Exception {
    if (!PostgresProcess.available()) {
      assertThat(System.getenv(Backends.REQUIRE))
          .as("PRESENCE_TEST_PG_BIN (set by bin/backends) is needed for this test")
          .isNull();
      assumeTrue(false, "no PostgreSQL binaries (PRESENCE_TEST_PG_BIN)");
    }
    Path dataDir = root.resolve("fast");
    Files.createDirectories(dataDir);
    DevIdentity.loadOrCreate(dataDir);
    ExecutorService callers = Executors.newFixedThreadPool(32);
    try (PostgresProcess pg = PostgresProcess.start();
        DomainStub site = DomainStub.start();
        NodeProcess node =
            NodeProcess.start(
                "db-outage-fast",
                dataDir,
                root.resolve("logs-fast"),
                List.of(
                    "--database-url", pg.url(),
                    "--set", "identity.dev-signing=true",
                    "--set", "outbound.allow-loopback=true",
                    "--set", "device.handshake-rate=0",
                    "--set", "gateway.drain-timeout=2s"))) {
      String dev = "dev-" + UUID.randomUUID() + "@example.com";
      App app = NotifyFixture.activeApp(node, site, dev, "Outage");
      String user = "u-" + UUID.randomUUID() + "@example.com";
      NotifyFixture.grant(node, user, app.id());
      ApiClient api = ApiClient.forEmail(node, dev);
      assertThat(api.get("/api/apps").statusCode()).isEqualTo(200);
      try (DeviceTestClient phone =
          DeviceTestClient.connected(node, node.token(user), null, "phone")) {

        pg.crash();

        // 32 calls at once, as the node first finds PostgreSQL gone: all answered within about
        // one connect timeout.
        long start = System.nanoTime();
        List<Future<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
          calls.add(callers.submit(() -> api.get("/api/apps")));
        }
        for (Future<HttpResponse<String>> c : calls) {
          HttpResponse<String> r = c.get(60, TimeUnit.SECONDS);
          assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
          assertThat(NotifyFixture.json(r).path("errno").asInt()).isEqualTo(502);
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));

        // Known to be down: answered at once, the device's status too (its grants not cached).
        start = System.nanoTime();
        HttpResponse<String> apps = api.get("/api/apps");
        assertThat(apps.statusCode()).as(apps.body()).isEqualTo(503);
        assertThat(NotifyFixture.json(apps).path("errno").asInt()).isEqualTo(502);
        assertGrantsUnavailable(phone.status(PresenceStatus.AWAY, "no grants"));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
        assertThat(phone.isClosed()).isFalse();
        assertThat(get(node, "/__heartbeat__").body()).contains("\"failing\":[\"database\"]");

        pg.startAgain();

        await()
            .atMost(Duration.ofSeconds(10))
            .pollInterval(Duration.ofMillis(100))
            .until(() -> api.get("/api/apps").statusCode() == 200);
        assertThat(phone.status(PresenceStatus.AWAY, "again"))
            .isInstanceOf(DeviceMessage.Ack.class);
        assertThat(get(node, "/__heartbeat__").statusCode()).isEqualTo(200);
      }
    } finally {
      callers.shutdownNow();
    }
  }

  /**
   * {@code user}'s device goes online before the application is granted: the grant shows the user
   * online to the application, and clears the user's grants from the node's cache, so that the node
   * has not read them when the database goes. Answers the user's PUID.
   */
  private static String onlineThenGranted(
      NodeProcess node, DeviceTestClient device, String user, App app, UpdateClient updates)
      throws Exception {
    assertThat(device.status(PresenceStatus.ONLINE, null)).isInstanceOf(DeviceMessage.Ack.class);
    String puid = NotifyFixture.grant(node, user, app.id());
    assertThat(updates.updates(1))
        .extracting(i -> i.puid() + ":" + i.status())
        .containsExactly(puid + ":online");
    return puid;
  }

  /**
   * {@code device} goes away during the outage: once its grace period is over, its user goes
   * offline in the state store, and the change, whose grants cannot be read, is not published.
   */
  private static void leaves(NodeProcess node, DeviceTestClient device) {
    device.close();
    await()
        .atMost(WAIT)
        .until(() -> node.log().contains("presence change of a user not published"));
  }

  private static void assertGrantsUnavailable(DeviceMessage answer) {
    assertThat(answer).isInstanceOf(DeviceMessage.ErrorReply.class);
    assertThat(((DeviceMessage.ErrorReply) answer).errno()).isEqualTo(502);
  }
}
