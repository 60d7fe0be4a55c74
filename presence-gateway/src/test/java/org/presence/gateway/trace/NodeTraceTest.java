package org.presence.gateway.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.trace.v1.Span;
import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.config.ConfigLoader;
import org.presence.gateway.config.PresenceConfig;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.OtlpCollector;
import org.presence.gateway.testing.TestNode;

/**
 * OpenTelemetry traces ({@code otel.*}) exported over OTLP/HTTP to a collector on loopback that
 * decodes each request with the OTLP protobuf classes: the HTTP API's spans by route template, the
 * notification path's accept, enqueue and delivery, and no personal data anywhere in them.
 */
class NodeTraceTest {
  @TempDir Path dir;
  private OtlpCollector collector;

  @BeforeEach
  void collector() {
    collector = OtlpCollector.start();
  }

  @AfterEach
  void stop() {
    collector.close();
  }

  private List<Span> spans() {
    return collector.spans();
  }

  private static String attribute(Span s, String key) {
    return OtlpCollector.attribute(s, key);
  }

  @Test
  void apiAndNotificationSpans_reachTheCollector_withoutPersonalData() {
    Map<String, String> s = TestNode.baseSettings(dir.resolve("data"));
    s.put("xmpp.port", "off");
    s.put("outbound.allow-loopback", "true");
    s.put("otel.endpoint", collector.endpoint());
    s.put("otel.export-interval", "100ms");
    String email = "traced-user@example.com";
    String puid;
    String key;
    try (DomainStub site = DomainStub.start();
        TestNode n = TestNode.start(s, r -> {})) {
      NotifyFixture.App app = NotifyFixture.activeApp(n, site, "dev@example.com", "Traced");
      key = app.key();
      puid = NotifyFixture.grant(n, email, app.id());
      try (DeviceTestClient device = DeviceTestClient.connected(n, n.token(email), null, "phone")) {
        NotifyFixture.ack(
            NotifyFixture.post(
                n, app.id(), key, NotifyFixture.batch(NotifyFixture.item(puid, "hello"))));
        assertThat(device.notifications(1)).hasSize(1);
      }
      // A route whose path carries a PUID.
      TestNode.send(
          HttpRequest.newBuilder(n.uri("/" + app.id() + "/presence/" + puid))
              .header("Authorization", "Bearer " + key)
              .build());
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () ->
                  spans().stream().map(Span::getName).toList().contains("notification.deliver")
                      && spans().stream()
                          .anyMatch(x -> x.getName().equals("GET /{appid}/presence/{puid}")));
    }

    List<Span> spans = spans();
    List<ExportTraceServiceRequest> received = collector.received();
    assertThat(collector.contentTypes()).allMatch(t -> t.startsWith("application/x-protobuf"));
    Map<String, Span> byName = new HashMap<>();
    spans.forEach(x -> byName.put(x.getName(), x));
    assertThat(byName)
        .containsKeys(
            "POST /{appid}/notification",
            "notification.accept",
            "notification.enqueue",
            "notification.deliver",
            "GET /{appid}/presence/{puid}",
            "POST /api/grants");
    Span post = byName.get("POST /{appid}/notification");
    Span accept = byName.get("notification.accept");
    Span enqueue = byName.get("notification.enqueue");
    assertThat(post.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_SERVER);
    assertThat(attribute(post, "http.route")).isEqualTo("/{appid}/notification");
    assertThat(attribute(post, "http.response.status_code")).isEqualTo("200");
    // accept is the request's child, enqueue accept's, all in one trace.
    assertThat(accept.getParentSpanId()).isEqualTo(post.getSpanId());
    assertThat(enqueue.getParentSpanId()).isEqualTo(accept.getSpanId());
    assertThat(enqueue.getTraceId()).isEqualTo(post.getTraceId());
    assertThat(attribute(enqueue, "presence.notifications.items")).isEqualTo("1");
    assertThat(attribute(byName.get("notification.deliver"), "presence.notifications.items"))
        .isEqualTo("1");
    assertThat(
            received.get(0).getResourceSpans(0).getResource().getAttributesList().stream()
                .map(kv -> kv.getKey() + "=" + kv.getValue().getStringValue())
                .toList())
        .contains("service.name=presence", "service.instance.id=test-node");

    // No PUID, user, identity or key anywhere in what was sent.
    String everything = received.toString();
    assertThat(everything)
        .doesNotContain(puid)
        .doesNotContain(email)
        .doesNotContain(NotifyFixture.sub(email))
        .doesNotContain(key)
        .doesNotContain("hello");
  }

  @Test
  void offByDefault_onWithTheStandardVariable() {
    Map<String, String> s = TestNode.baseSettings(dir.resolve("data"));
    assertThat(ConfigLoader.load(null, Map.of(), s).otel().enabled()).isFalse();
    PresenceConfig env =
        ConfigLoader.load(
            null,
            Map.of(
                "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318",
                "OTEL_SERVICE_NAME", "presence-eu"),
            s);
    assertThat(env.otel().enabled()).isTrue();
    assertThat(env.otel().endpoint()).isEqualTo("http://collector:4318");
    assertThat(env.otel().serviceName()).isEqualTo("presence-eu");
    assertThat(Tracing.start(ConfigLoader.load(null, Map.of(), s).otel(), "n", "v"))
        .isSameAs(Tracing.off());
  }
}
