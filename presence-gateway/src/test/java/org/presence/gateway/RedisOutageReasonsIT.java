package org.presence.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.NotifyFixture.App;
import org.presence.gateway.testing.NotifyFixture.RedisNodeUser;
import org.presence.gateway.testing.RedisProcess;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.model.PresenceStatus;

/**
 * A node whose Redis dies answers its clients errno 502 with the documented reason ({@code
 * errors.md}, "Backend temporarily unavailable: redis unavailable"), never Lettuce's words for what
 * happened: no host, no port, no "Unable to connect" or "Command timed out". The Redis is the
 * test's own, so that killing it disturbs no other test.
 */
class RedisOutageReasonsIT {
  private static final String REASON = "Backend temporarily unavailable: redis unavailable";

  @TempDir Path root;

  @Test
  void redisDies_reasonsToClientsAreFixed_withoutTheLibrarysWords() throws Exception {
    try (RedisProcess redis = RedisProcess.start(root.resolve("redis"));
        DomainStub site = DomainStub.start()) {
      try (RedisNodeUser u =
          RedisNodeUser.start(
              root.resolve("node"),
              redis.url(),
              site,
              "Outage",
              Map.of("store.redis.command-timeout", "500ms"))) {
        TestNode node = u.node();
        DeviceTestClient phone = u.phone();
        App app = u.app();
        String puid = u.puid();
        redis.kill();

        List<String> reasons = new ArrayList<>();
        HttpResponse<String> post =
            NotifyFixture.post(
                node, app.id(), app.key(), NotifyFixture.batch(NotifyFixture.item(puid, "during")));
        reasons.add(unavailable(post));
        HttpResponse<String> query = NotifyFixture.presence(node, app, puid);
        reasons.add(unavailable(query));
        DeviceMessage status = phone.status(PresenceStatus.AWAY, "no redis");
        assertThat(status).isInstanceOf(DeviceMessage.ErrorReply.class);
        assertThat(((DeviceMessage.ErrorReply) status).errno()).isEqualTo(502);
        reasons.add(((DeviceMessage.ErrorReply) status).reason());

        String port = redis.url().substring(redis.url().lastIndexOf(':') + 1);
        assertThat(reasons)
            .allSatisfy(
                r ->
                    assertThat(r)
                        .isEqualTo(REASON)
                        .doesNotContain("127.0.0.1")
                        .doesNotContain(port)
                        .doesNotContainIgnoringCase("unable to connect")
                        .doesNotContainIgnoringCase("timed out")
                        .doesNotContainIgnoringCase("connection")
                        .doesNotContainIgnoringCase("exception")
                        .doesNotContainIgnoringCase("lettuce"));
      }
    }
  }

  /** The reason of a 503 with errno 502, failing the test for any other answer. */
  private static String unavailable(HttpResponse<String> r) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
    assertThat(NotifyFixture.json(r).path("errno").asInt()).as(r.body()).isEqualTo(502);
    return NotifyFixture.json(r).path("reason").asText();
  }
}
