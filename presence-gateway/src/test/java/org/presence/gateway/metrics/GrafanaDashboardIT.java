package org.presence.gateway.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.NotifyFixture.App;
import org.presence.gateway.testing.TestCluster;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.UpdateClient;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.model.PresenceStatus;

/**
 * Keeps {@code docs/grafana/presence.json} true: every metric its queries name exists on a live
 * clustered node's {@code /metrics} (PostgreSQL and Redis, so that the Redis histogram is there)
 * after a little traffic: a device status, an update to an application, a live notification.
 */
class GrafanaDashboardIT {
  private static final Path DASHBOARD = Path.of("..", "docs", "grafana", "presence.json");

  /** Metric names in a query: Presence's own and the JVM's. */
  private static final Pattern METRIC = Pattern.compile("\\b(?:presence|jvm)_[a-z0-9_]+\\b");

  @TempDir Path root;

  static Set<String> namesIn(JsonNode dashboard) {
    Set<String> names = new TreeSet<>();
    for (JsonNode panel : dashboard.get("panels")) {
      for (JsonNode target : panel.path("targets")) {
        String expr = target.get("expr").asText();
        Matcher m = METRIC.matcher(expr);
        boolean any = false;
        while (m.find()) {
          names.add(m.group());
          any = true;
        }
        assertThat(any).as("no metric in " + expr).isTrue();
      }
    }
    return names;
  }

  @Test
  void everyMetricTheDashboardNamesExists() throws Exception {
    JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
    Set<String> wanted = namesIn(dashboard);
    assertThat(wanted).contains("presence_redis_command_seconds_bucket");

    Map<String, String> common = new HashMap<>();
    common.put("identity.dev-signing", "true");
    common.put("outbound.allow-loopback", "true");
    common.put("device.handshake-rate", "0");
    try (TestCluster cluster =
            TestCluster.create(GrafanaDashboardIT.class, root, "grafana-it", common);
        TestNode node = cluster.start(Map.of());
        DomainStub site = DomainStub.start()) {
      App app = NotifyFixture.activeApp(node, site, "dev-" + UUID.randomUUID() + "@x.com", "Dash");
      String email = "user-" + UUID.randomUUID() + "@example.com";
      String puid = NotifyFixture.grant(node, email, app.id());
      try (UpdateClient updates = UpdateClient.connected(node, app.id(), app.key(), -1);
          DeviceTestClient device =
              DeviceTestClient.connected(node, node.token(email), null, "phone")) {
        updates.snapshot();
        assertThat(device.status(PresenceStatus.ONLINE, null))
            .isEqualTo(DeviceMessage.Ack.INSTANCE);
        assertThat(updates.updates(1).get(0).puid()).isEqualTo(puid);
        NotifyFixture.ack(
            NotifyFixture.post(
                node, app.id(), app.key(), NotifyFixture.batch(NotifyFixture.item(puid, "hi"))));
        assertThat(device.notifications().notifications()).isNotEmpty();
      }
      String text = node.adminGet("/metrics").body();
      Set<String> exported = new TreeSet<>();
      for (String series : MetricsText.samples(text).keySet()) {
        exported.add(MetricsText.name(series));
      }
      assertThat(exported).containsAll(wanted);
      Map<String, Double> samples = MetricsText.samples(text);
      assertThat(MetricsText.sum(samples, "presence_update_delivery_seconds_count", ""))
          .isGreaterThanOrEqualTo(1);
      assertThat(MetricsText.sum(samples, "presence_notification_delivery_seconds_count", ""))
          .isGreaterThanOrEqualTo(1);
      assertThat(MetricsText.sum(samples, "presence_redis_command_seconds_count", ""))
          .isGreaterThanOrEqualTo(1);
    }
  }
}
