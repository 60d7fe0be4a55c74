package org.presence.store.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.RedisCredentials;
import io.lettuce.core.RedisURI;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.presence.store.config.StoreConfig;

class RedisBackendTest {
  @Test
  void classLoaded_ioUringSwitchedOff_soLettuceDoesNotWarnAtEveryConnection() {
    assertThat(RedisBackend.CLUSTER_REFRESH_PERIOD).isNotNull();
    assertThat(System.getProperty(RedisBackend.IOURING_PROPERTY)).isEqualTo("false");
  }

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

  @Test
  void clusterSeeds_withPasswordAndTls_applyToEverySeed() {
    assertThat(RedisBackend.isClusterUrl("rediss-cluster://a:1")).isTrue();
    List<RedisURI> seeds =
        RedisBackend.clusterSeeds("rediss-cluster://app:p%40ss:w@r1:7000,r2:7001");
    assertThat(seeds).extracting(RedisURI::getHost).containsExactly("r1", "r2");
    for (RedisURI seed : seeds) {
      assertThat(seed.isSsl()).isTrue();
      RedisCredentials c = seed.getCredentialsProvider().resolveCredentials().block();
      assertThat(c.getUsername()).isEqualTo("app");
      assertThat(new String(c.getPassword())).isEqualTo("p@ss:w");
    }
    RedisURI onlyPassword = RedisBackend.clusterSeeds("redis-cluster://secret@r1:7000").get(0);
    assertThat(onlyPassword.isSsl()).isFalse();
    RedisCredentials c = onlyPassword.getCredentialsProvider().resolveCredentials().block();
    assertThat(c.getUsername()).isNull();
    assertThat(new String(c.getPassword())).isEqualTo("secret");
    assertThat(
            RedisBackend.clusterSeeds("redis-cluster://r1:7000")
                .get(0)
                .getCredentialsProvider()
                .resolveCredentials()
                .block()
                .hasPassword())
        .isFalse();
  }

  @Test
  void clusterSeeds_whenBadWithAPassword_thenThePasswordIsNotShown() {
    for (String bad :
        List.of(
            "redis-cluster://u:hunter2@r1",
            "rediss-cluster://u:hunter2@",
            "redis-cluster://u:hunter2@r1:7000/0",
            "redis-cluster://u:hunter2%zz@r1:7000",
            "redis-cluster://u:@r1:7000")) {
      assertThatThrownBy(() -> RedisBackend.clusterSeeds(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("redis-cluster://host:port[,host:port...]")
          .hasMessageNotContaining("hunter2");
    }
  }

  @Test
  void redact_hidesUserAndPasswordOfEveryUrl() {
    assertThat(
            StoreConfig.RedisConfig.redact(
                "cannot connect to rediss://u:p@w@h:1/0 and redis-sentinel://pw@s1:1,s2:2/#m: x"))
        .isEqualTo("cannot connect to rediss://***@h:1/0 and redis-sentinel://***@s1:1,s2:2/#m: x");
    assertThat(StoreConfig.RedisConfig.redis("redis-cluster://u:pw@a:1,b:2").toString())
        .contains("url=redis-cluster://***@a:1,b:2")
        .doesNotContain("pw");
    assertThat(StoreConfig.RedisConfig.redact("redis://h:1")).isEqualTo("redis://h:1");
    assertThat(StoreConfig.RedisConfig.redact("redis-cluster://u:pa/ss@h:1,g:2 x"))
        .isEqualTo("redis-cluster://***@h:1,g:2 x");
  }
}
