package org.presence.gateway.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.opentelemetry.proto.trace.v1.Span;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.OtlpCollector;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.device.DeviceMessage.Ack;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.testing.Backends;

/**
 * Redis commands as OpenTelemetry client spans (Lettuce's tracing hook), exported to a collector on
 * loopback: named by command, {@code db.system.name = redis}, never a key or an argument.
 */
class RedisTraceIT {
  @TempDir Path dir;

  @BeforeAll
  static void backends() {
    Backends.redisUrl();
  }

  @Test
  void redisCommands_areClientSpans_withoutKeysOrArguments() {
    String prefix = Backends.uniquePrefix(RedisTraceIT.class);
    String email = "redis-traced@example.com";
    try (OtlpCollector collector = OtlpCollector.start()) {
      Map<String, String> s = TestNode.baseSettings(dir.resolve("data"));
      s.put("xmpp.port", "off");
      s.put("identity.dev-signing", "true");
      s.put("store.redis.url", Backends.redisUrl());
      s.put("store.redis.key-prefix", prefix);
      s.put("otel.endpoint", collector.endpoint());
      s.put("otel.export-interval", "100ms");
      try (TestNode n = TestNode.start(s, r -> {});
          DeviceTestClient d = DeviceTestClient.connected(n, n.token(email), null, "phone")) {
        assertThat(d.status(PresenceStatus.ONLINE, "at work")).isEqualTo(Ack.INSTANCE);
        await()
            .atMost(Duration.ofSeconds(10))
            .until(
                () ->
                    collector.spans().stream()
                        .anyMatch(
                            x -> "redis".equals(OtlpCollector.attribute(x, "db.system.name"))));
      }
      List<Span> redis =
          collector.spans().stream()
              .filter(x -> "redis".equals(OtlpCollector.attribute(x, "db.system.name")))
              .toList();
      assertThat(redis).isNotEmpty();
      assertThat(redis)
          .allSatisfy(
              x -> {
                assertThat(x.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_CLIENT);
                assertThat(x.getName()).matches("[A-Z]+");
                assertThat(OtlpCollector.attribute(x, "db.operation.name")).isEqualTo(x.getName());
              });
      assertThat(redis.stream().map(Span::getName)).contains("EVALSHA");
      String everything = collector.received().toString();
      assertThat(everything)
          .doesNotContain(prefix)
          .doesNotContain(email)
          .doesNotContain(NotifyFixture.sub(email))
          .doesNotContain("at work");
    }
  }
}
