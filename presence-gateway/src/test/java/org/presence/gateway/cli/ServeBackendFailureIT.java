package org.presence.gateway.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.testing.Backends;

/**
 * Backends that answer but are not what the settings say fail the start with one line, status 1.
 */
class ServeBackendFailureIT {
  @TempDir Path dataDir;

  @Test
  void serve_whenAPlainRedisUrlNamesAClusterNode_thenOneLineNamingTheUrlAndExit1() {
    String seeds = Backends.redisClusterUrl().substring("redis-cluster://".length());
    String node = "redis://" + seeds.split(",")[0];
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code =
        PresenceCli.run(
            new String[] {
              "serve",
              "--port",
              "0",
              "--admin-port",
              "0",
              "--data-dir",
              dataDir.toString(),
              "--redis-url",
              node,
              "--set",
              "identity.dev-signing=true",
              "--set",
              "xmpp.port=off"
            },
            Map.of(),
            new PrintWriter(out, true),
            new PrintWriter(err, true));
    assertThat(code).as(err.toString()).isEqualTo(PresenceCli.EXIT_STARTUP);
    assertThat(err.toString().lines())
        .singleElement()
        .asString()
        .startsWith("presence: store.redis.url: ")
        .contains("Redis Cluster node", "redis-cluster://");
  }
}
