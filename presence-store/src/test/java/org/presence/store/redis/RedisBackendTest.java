package org.presence.store.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.RedisURI;
import java.util.List;
import org.junit.jupiter.api.Test;

class RedisBackendTest {
  @Test
  void clusterSeeds_everyHostAndPort() {
    assertThat(RedisBackend.isClusterUrl("Redis-Cluster://a:1")).isTrue();
    assertThat(RedisBackend.isClusterUrl("redis://a:1")).isFalse();
    assertThat(RedisBackend.clusterSeeds("redis-cluster://10.0.0.1:7000,r2:7001,[::1]:7002"))
        .extracting(RedisURI::getHost, RedisURI::getPort)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("10.0.0.1", 7000),
            org.assertj.core.groups.Tuple.tuple("r2", 7001),
            org.assertj.core.groups.Tuple.tuple("::1", 7002));
  }

  @Test
  void clusterSeeds_whenBad_thenTheFormIsShown() {
    for (String bad :
        List.of(
            "redis-cluster://",
            "redis-cluster://a",
            "redis-cluster://a:",
            "redis-cluster://a:x",
            "redis-cluster://a:0",
            "redis-cluster://a:1,",
            "redis-cluster://a:1/0",
            "redis-cluster://a:1?x=y")) {
      assertThatThrownBy(() -> RedisBackend.clusterSeeds(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("redis-cluster://host:port[,host:port...]");
    }
  }
}
