package org.presence.gateway.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.model.PresenceStatus;

/**
 * The latency histograms on a live embedded node's {@code /metrics}: Prometheus histograms with
 * buckets, bounded labels, and the fixed outcomes present before their first event.
 */
class LatencyHistogramsTest {
  @TempDir Path dir;

  @Test
  void histogramsAreExported() {
    Map<String, String> s = TestNode.baseSettings(dir);
    s.put("identity.dev-signing", "true");
    try (TestNode node = TestNode.start(s, r -> {})) {
      String email = "hist-" + UUID.randomUUID() + "@example.com";
      try (DeviceTestClient d =
          DeviceTestClient.connected(node, node.token(email), null, "phone")) {
        assertThat(d.status(PresenceStatus.ONLINE, null)).isEqualTo(DeviceMessage.Ack.INSTANCE);
      }
      HttpResponse<String> r = node.adminGet("/metrics");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body())
          .contains("# TYPE presence_device_ack_seconds histogram")
          .contains("# TYPE presence_database_call_seconds histogram")
          .contains("# TYPE presence_webhook_call_seconds histogram")
          .contains("presence_device_ack_seconds_bucket{outcome=\"ok\",le=\"+Inf\"}");
      Map<String, Double> samples = MetricsText.samples(r.body());
      assertThat(MetricsText.sum(samples, "presence_device_ack_seconds_count", "outcome=\"ok\""))
          .isGreaterThanOrEqualTo(1);
      assertThat(MetricsText.sum(samples, "presence_database_call_seconds_count", "\"ok\""))
          .isGreaterThanOrEqualTo(1);
      // Fixed outcomes are there at zero before any webhook call.
      assertThat(samples)
          .containsEntry("presence_webhook_call_seconds_count{outcome=\"timeout\"}", 0.0)
          .containsEntry("presence_webhook_call_seconds_count{outcome=\"5xx\"}", 0.0);
      // No Redis on the embedded default: no Redis series.
      assertThat(samples.keySet()).noneMatch(k -> k.startsWith("presence_redis_command_seconds"));
    }
  }
}
