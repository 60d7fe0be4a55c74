package org.presence.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
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
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;
import org.presence.store.testing.FullPrimary;
import org.presence.store.testing.RedisFiller;

/**
 * A node whose Redis is full (its maxmemory reached, noeviction) says so (probe s33 F6): a
 * notification POST and a device's status answer errno 502 "Backend temporarily unavailable: Redis
 * is full (maxmemory)" instead of "redis unavailable", the heartbeat names the bus as full on the
 * gateway port, and the refusals are counted in the metrics. The Redis is the test's own; on the
 * test backends' Redis Cluster, one full primary, whichever, fails the heartbeat the same way.
 */
class RedisFullReasonsIT {
  private static final String REASON = "Backend temporarily unavailable: Redis is full (maxmemory)";

  @TempDir Path root;

  @Test
  void redisFull_isAnsweredHeartbeatAndCountedAsFull() throws Exception {
    try (RedisProcess redis = RedisProcess.start(root.resolve("redis"));
        DomainStub site = DomainStub.start()) {
      try (RedisNodeUser u =
          RedisNodeUser.start(root.resolve("node"), redis.url(), site, "Full", Map.of())) {
        TestNode node = u.node();
        DeviceTestClient phone = u.phone();
        App app = u.app();
        String puid = u.puid();
        redis.cli("config", "set", "maxmemory-policy", "noeviction");
        redis.cli("config", "set", "maxmemory", "8mb");
        RedisFiller filler = RedisFiller.untilFull(redis.url());

        HttpResponse<String> post =
            NotifyFixture.post(
                node, app.id(), app.key(), NotifyFixture.batch(NotifyFixture.item(puid, "full")));
        assertThat(post.statusCode()).as(post.body()).isEqualTo(503);
        assertThat(NotifyFixture.json(post).path("errno").asInt()).isEqualTo(502);
        assertThat(NotifyFixture.json(post).path("reason").asText()).isEqualTo(REASON);

        DeviceMessage status = phone.status(PresenceStatus.AWAY, "full");
        assertThat(status).isInstanceOf(DeviceMessage.ErrorReply.class);
        assertThat(((DeviceMessage.ErrorReply) status).errno()).isEqualTo(502);
        assertThat(((DeviceMessage.ErrorReply) status).reason()).isEqualTo(REASON);

        HttpResponse<String> heartbeat = node.get("/__heartbeat__");
        assertThat(heartbeat.statusCode()).isEqualTo(503);
        assertThat(heartbeat.body())
            .contains(
                "\"bus\":{\"kind\":\"redis\",\"status\":\"error\","
                    + "\"error\":\"Redis is full (maxmemory)\"}")
            .contains("\"failing\":[\"bus\"]");

        String metrics = node.adminGet("/metrics").body();
        assertThat(metrics).containsPattern("presence_redis_full_refusals_total [1-9]");

        // Room again: the heartbeat is fine and the status is taken.
        redis.cli("config", "set", "maxmemory", "0");
        filler.close();
        assertThat(node.get("/__heartbeat__").statusCode()).isEqualTo(200);
        assertThat(phone.status(PresenceStatus.AWAY, "room again"))
            .isInstanceOf(DeviceMessage.Ack.class);
      }
    }
  }

  /**
   * On the Redis Cluster of the test backends, one full primary (not the one holding {@code
   * <prefix>health}, the key the heartbeat used to write alone) fails the heartbeat naming Redis as
   * full; once it has room again the heartbeat is fine.
   */
  @Test
  void aFullPrimaryOfACluster_failsTheHeartbeatAsFull() throws Exception {
    String url = Backends.redisClusterUrl();
    String prefix = Backends.uniquePrefix(getClass());
    try (DomainStub site = DomainStub.start();
        RedisNodeUser u =
            RedisNodeUser.start(
                root.resolve("node"),
                url,
                site,
                "Full primary",
                Map.of("store.redis.key-prefix", prefix));
        RedisBackend cluster = RedisBackend.connect(Backends.redisCluster(prefix))) {
      TestNode node = u.node();
      assertThat(node.get("/__heartbeat__").statusCode()).isEqualTo(200);
      try (FullPrimary full = FullPrimary.otherThanOf(cluster, prefix + "health")) {
        HttpResponse<String> heartbeat = node.get("/__heartbeat__");
        assertThat(heartbeat.statusCode()).as(heartbeat.body()).isEqualTo(503);
        assertThat(heartbeat.body())
            .contains(
                "\"bus\":{\"kind\":\"redis\",\"status\":\"error\","
                    + "\"error\":\"Redis is full (maxmemory)\"}")
            .contains("\"failing\":[\"bus\"]");
      }
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> node.get("/__heartbeat__").statusCode() == 200);
    }
  }
}
