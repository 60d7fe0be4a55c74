package org.presence.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.gateway.testing.NotifyFixture.ack;
import static org.presence.gateway.testing.NotifyFixture.batch;
import static org.presence.gateway.testing.NotifyFixture.item;
import static org.presence.gateway.testing.NotifyFixture.post;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.NotifyFixture.App;
import org.presence.gateway.testing.TestCluster;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.UpdateClient;
import org.presence.gateway.testing.WsClient;
import org.presence.protocol.api.NotificationBatchCodec.Ack;
import org.presence.protocol.error.ErrorCode;

/**
 * The per-application limits hold for the cluster, not for each node: two nodes on one PostgreSQL
 * and one Redis share an application's notification bucket and its update-connection allowance.
 */
class ClusterLimitsIT {
  @TempDir static Path root;
  private static TestCluster cluster;
  private static DomainStub site;
  private static TestNode a;
  private static TestNode b;

  @BeforeAll
  static void start() {
    Map<String, String> s = new HashMap<>();
    s.put("identity.dev-signing", "true");
    s.put("outbound.allow-loopback", "true");
    s.put("device.handshake-rate", "0");
    // Ten notifications per application, with next to no refill while the test runs.
    s.put("notifications.rate", "0.001");
    s.put("notifications.burst", "10");
    s.put("updates.max-connections-per-app", "2");
    s.put("updates.connect-rate", "100");
    s.put("updates.connect-burst", "100");
    cluster = TestCluster.create(ClusterLimitsIT.class, root, "limits-it", s);
    site = DomainStub.start();
    a = cluster.start(Map.of());
    b = cluster.start(Map.of());
  }

  @AfterAll
  static void stop() {
    for (AutoCloseable c : new AutoCloseable[] {a, b, site}) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      }
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  private static String email(String who) {
    return who + "-" + UUID.randomUUID() + "@example.com";
  }

  private static String items(String puid, String prefix, int n) {
    return batch(
        IntStream.range(0, n).mapToObj(i -> item(puid, prefix + i)).toArray(String[]::new));
  }

  @Test
  void theNotificationRate_isOneBucketForBothNodes() {
    App app = NotifyFixture.activeApp(a, site, email("dev"), "Shared rate");
    String puid = NotifyFixture.grant(a, email("user"), app.id());

    Ack first = ack(post(a, app.id(), app.key(), items(puid, "a", 6)));
    assertThat(first.result()).isEqualTo("OK");
    assertThat(first.stored()).isEqualTo(6);

    // Node B has seen no notification of this app; with a bucket per node it would take all six.
    HttpResponse<String> onB = post(b, app.id(), app.key(), items(puid, "b", 6));
    Ack second = ack(onB);
    assertThat(second.result()).isEqualTo("PARTIAL");
    assertThat(second.stored()).isEqualTo(4);
    assertThat(second.results().get(5).errno()).isEqualTo(ErrorCode.APP_RATE_LIMITED.errno());

    // B now knows the bucket is empty: the next batch is refused whole before its body is read.
    HttpResponse<String> refused = post(b, app.id(), app.key(), items(puid, "c", 1));
    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(NotifyFixture.json(refused).path("errno").asInt())
        .isEqualTo(ErrorCode.APP_RATE_LIMITED.errno());
    assertThat(refused.headers().firstValue("Retry-After")).isPresent();

    // Node A finds the shared bucket empty too.
    HttpResponse<String> onA = post(a, app.id(), app.key(), items(puid, "d", 3));
    if (onA.statusCode() == 200) {
      assertThat(ack(onA).stored()).isZero();
    } else {
      assertThat(onA.statusCode()).isEqualTo(429);
    }
    assertThat(post(a, app.id(), app.key(), items(puid, "e", 1)).statusCode()).isEqualTo(429);
  }

  private static void assertRefused(UpdateClient c, ErrorCode code) {
    JsonNode err = c.next();
    assertThat(err).as("error frame").isNotNull();
    assertThat(err.path("result").asBoolean(true)).isFalse();
    assertThat(err.path("errno").asInt()).isEqualTo(code.errno());
    WsClient.Close close = c.awaitClose();
    assertThat(close.code()).isEqualTo(code.closeCode());
  }

  @Test
  void theUpdateConnectionLimit_countsBothNodes_andANodeThatStopsLeavesTheCount() {
    App app = NotifyFixture.activeApp(a, site, email("dev"), "Shared connections");
    List<UpdateClient> open = new ArrayList<>();
    try (TestNode c = cluster.start(Map.of())) {
      UpdateClient onC = UpdateClient.connected(c, app.id(), app.key(), -1);
      open.add(onC);
      onC.snapshot();
      UpdateClient onB = UpdateClient.connected(b, app.id(), app.key(), -1);
      open.add(onB);
      onB.snapshot();
      // Two are open in the cluster, one on each node: a third is refused on either node.
      try (UpdateClient third = UpdateClient.open(b, app.id())) {
        third.sendKey(app.key(), -1);
        assertRefused(third, ErrorCode.TOO_MANY_APP_CONNECTIONS);
      }
      try (UpdateClient third = UpdateClient.open(a, app.id())) {
        third.sendKey(app.key(), -1);
        assertRefused(third, ErrorCode.TOO_MANY_APP_CONNECTIONS);
      }
      // One closes on B: B has room again.
      onB.close();
      open.remove(onB);
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> b.server().updates().connections(app.id()) == 0);
      UpdateClient again = UpdateClient.connected(b, app.id(), app.key(), -1);
      open.add(again);
      again.snapshot();
    }
    // Node C stopped with its connection open: its place is free for the others.
    UpdateClient afterC = UpdateClient.connected(a, app.id(), app.key(), -1);
    open.add(afterC);
    afterC.snapshot();
    open.forEach(UpdateClient::close);
  }
}
