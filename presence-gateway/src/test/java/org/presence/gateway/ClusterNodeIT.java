package org.presence.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.TestNode;
import org.presence.store.testing.Backends;

/** A node configured for the cluster: PostgreSQL (migrated at start) and Redis. */
class ClusterNodeIT {
  private static String schema;

  @TempDir Path dataDir;

  @BeforeAll
  static void backends() {
    Backends.databaseUrl();
    Backends.redisUrl();
    schema = Backends.uniqueSchema(ClusterNodeIT.class);
  }

  @AfterAll
  static void drop() {
    if (schema != null) {
      Backends.dropSchema(schema);
    }
  }

  @Test
  void heartbeat_namesPostgresqlAndRedis() {
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("store.database.url", Backends.databaseUrl());
    s.put("store.database.schema", schema);
    s.put("store.redis.url", Backends.redisUrl());
    s.put("store.redis.key-prefix", Backends.uniquePrefix(ClusterNodeIT.class));
    s.put("identity.dev-signing", "true");
    try (TestNode node = TestNode.start(s, r -> {})) {
      var r = node.get("/__heartbeat__");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body())
          .contains("\"database\":{\"kind\":\"postgresql\",\"status\":\"ok\"}")
          .contains("\"bus\":{\"kind\":\"redis\",\"status\":\"ok\"}");
    }
  }
}
