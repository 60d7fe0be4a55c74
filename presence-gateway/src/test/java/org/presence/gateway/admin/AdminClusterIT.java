package org.presence.gateway.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.NotifyFixture.App;
import org.presence.gateway.testing.TestCluster;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.PresenceStatus;

/**
 * The admin API and the presence queries on a two-node cluster (PostgreSQL and Redis): one node's
 * admin API lists both nodes with their connections and ends a user's sessions on both; a query on
 * one node sees a user whose device is on the other.
 */
class AdminClusterIT {
  @TempDir static Path root;
  private static TestCluster cluster;
  private static TestNode a;
  private static TestNode b;
  private static DomainStub site;

  @BeforeAll
  static void start() {
    Map<String, String> common = new HashMap<>();
    common.put("identity.dev-signing", "true");
    common.put("outbound.allow-loopback", "true");
    common.put("device.handshake-rate", "0");
    common.put("admin.token", AdminApiTest.TOKEN);
    common.put("queries.stats-ttl", "1ms");
    cluster = TestCluster.create(AdminClusterIT.class, root, "admin-it", common);
    a = cluster.start(Map.of());
    b = cluster.start(Map.of());
    site = DomainStub.start();
  }

  @AfterAll
  static void stop() {
    for (AutoCloseable c : new AutoCloseable[] {site, b, a, cluster}) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception e) {
          // best effort
        }
      }
    }
  }

  private static String email(String who) {
    return who + "-" + UUID.randomUUID() + "@example.com";
  }

  @Test
  void nodes_listsBothWithTheirConnections() {
    String ann = email("ann");
    try (DeviceTestClient onB = DeviceTestClient.connected(b, b.token(ann), null, "phone")) {
      JsonNode nodes =
          AdminApiTest.ok(AdminApiTest.admin(a, "GET", "/admin/api/nodes", AdminApiTest.TOKEN))
              .get("nodes");
      assertThat(nodes).hasSize(2);
      assertThat(List.of(nodes.get(0).get("node").asText(), nodes.get(1).get("node").asText()))
          .containsExactly("admin-it-1", "admin-it-2");
      for (JsonNode n : nodes) {
        assertThat(n.get("leased").asBoolean()).isTrue();
        assertThat(n.get("reachable").asBoolean()).as(n.toString()).isTrue();
        assertThat(n.get("lease_ok").asBoolean()).isTrue();
      }
      assertThat(nodes.get(1).get("device_sessions").asInt()).isEqualTo(1);
      assertThat(nodes.get(1).get("connections").get("device").asInt()).isEqualTo(1);
      JsonNode health =
          AdminApiTest.ok(AdminApiTest.admin(a, "GET", "/admin/api/health", AdminApiTest.TOKEN));
      assertThat(health.get("database").get("kind").asText()).isEqualTo("postgresql");
      assertThat(health.get("bus").get("kind").asText()).isEqualTo("redis");
      assertThat(health.get("status").asText()).isEqualTo("ok");
    }
  }

  @Test
  void disconnect_onOneNode_endsTheUsersSessionsOnBoth() {
    String ann = email("ann");
    String bob = email("bob");
    try (DeviceTestClient onA = DeviceTestClient.connected(a, a.token(ann), null, "laptop");
        DeviceTestClient onB = DeviceTestClient.connected(b, b.token(ann), null, "phone");
        DeviceTestClient other = DeviceTestClient.connected(b, b.token(bob), null, "phone")) {
      String path =
          "/admin/api/users/"
              + URLEncoder.encode(NotifyFixture.sub(ann), StandardCharsets.UTF_8)
              + "/disconnect";
      JsonNode r = AdminApiTest.ok(AdminApiTest.admin(a, "POST", path, AdminApiTest.TOKEN));
      assertThat(r.get("sessions").asInt()).isEqualTo(2);
      assertThat(onA.awaitClose().code()).isEqualTo(ErrorCode.SESSION_ABORTED.closeCode());
      assertThat(onB.awaitClose().code()).isEqualTo(ErrorCode.SESSION_ABORTED.closeCode());
      assertThat(other.status(PresenceStatus.ONLINE, null)).isEqualTo(DeviceMessage.Ack.INSTANCE);
      assertThat(other.isClosed()).isFalse();
    }
  }

  @Test
  void query_onOneNode_seesADeviceOnTheOther() {
    App app = NotifyFixture.activeApp(a, site, email("dev"), "Cluster query");
    String cat = email("cat");
    String puid = NotifyFixture.grant(a, cat, app.id());
    try (DeviceTestClient onB = DeviceTestClient.connected(b, b.token(cat), null, "phone")) {
      assertThat(onB.status(PresenceStatus.AWAY, "out")).isEqualTo(DeviceMessage.Ack.INSTANCE);
      JsonNode one =
          NotifyFixture.json(
              TestNode.send(
                  HttpRequest.newBuilder(a.uri("/" + app.id() + "/presence/" + puid))
                      .header("Authorization", "Bearer " + app.key())
                      .build()));
      assertThat(one.get("status").asText()).isEqualTo("away");
      assertThat(one.get("message").asText()).isEqualTo("out");
      JsonNode stats =
          NotifyFixture.json(
              TestNode.send(
                  HttpRequest.newBuilder(a.uri("/" + app.id() + "/presence/stats"))
                      .header("Authorization", "Bearer " + app.key())
                      .build()));
      assertThat(stats.get("away").asInt()).isEqualTo(1);
      assertThat(stats.get("puids").asInt()).isEqualTo(1);
    }
  }
}
