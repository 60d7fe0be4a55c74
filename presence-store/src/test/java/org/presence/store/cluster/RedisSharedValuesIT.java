package org.presence.store.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.store.testing.Futures.join;

import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;

/**
 * {@link RedisSharedValues} on a real Redis (a Redis Cluster in {@link
 * RedisSharedValuesClusterIT}), as two nodes see it: a value put by one is read by the other until
 * its time runs out; a claim is taken by one caller at a time (its holder included) until its
 * holder puts a value under the name or releases it, or the claim runs out.
 */
class RedisSharedValuesIT {
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redis(keyPrefix);
  }

  private RedisBackend one;
  private RedisBackend other;

  @BeforeEach
  void open() {
    String prefix = Backends.uniquePrefix(getClass());
    one = RedisBackend.connect(redisConfig(prefix));
    other = RedisBackend.connect(redisConfig(prefix));
  }

  @AfterEach
  void close() {
    one.close();
    other.close();
  }

  @Test
  void aValuePutByOneNode_isReadByTheOther_untilItsTimeRunsOut() {
    SharedValues a = new RedisSharedValues(one);
    SharedValues b = new RedisSharedValues(other);
    assertThat(join(b.get("stats:1"))).isEmpty();
    join(a.put("stats:1", "1,2,3,4,5", Duration.ofMinutes(1), "a"));
    assertThat(join(b.get("stats:1"))).contains("1,2,3,4,5");
    assertThat(join(b.get("stats:2"))).isEmpty();
    join(a.put("stats:3", "x", Duration.ofMillis(200), "a"));
    await().atMost(Duration.ofSeconds(10)).until(() -> join(b.get("stats:3")).isEmpty());
  }

  @Test
  void aClaimIsTakenOnce_untilItsHolderPutsOrReleases_orItRunsOut() {
    SharedValues a = new RedisSharedValues(one);
    SharedValues b = new RedisSharedValues(other);
    assertThat(join(a.claim("stats:1", "a", Duration.ofMinutes(1)))).isTrue();
    assertThat(join(b.claim("stats:1", "b", Duration.ofMinutes(1)))).isFalse();
    assertThat(join(a.claim("stats:1", "a", Duration.ofMinutes(1)))).as("its holder too").isFalse();
    assertThat(join(b.claim("stats:2", "b", Duration.ofMinutes(1)))).as("another name").isTrue();
    join(b.put("stats:1", "v", Duration.ofMinutes(1), "b"));
    assertThat(join(b.claim("stats:1", "b", Duration.ofMinutes(1))))
        .as("another holder's put left it")
        .isFalse();
    join(a.put("stats:1", "v", Duration.ofMinutes(1), "a"));
    assertThat(join(b.claim("stats:1", "b", Duration.ofMinutes(1))))
        .as("the put ended it")
        .isTrue();
    join(a.release("stats:1", "a"));
    assertThat(join(a.claim("stats:1", "a", Duration.ofMinutes(1))))
        .as("a release by another holder left b's")
        .isFalse();
    join(b.release("stats:1", "b"));
    assertThat(join(a.claim("stats:1", "a", Duration.ofMinutes(1)))).as("released").isTrue();

    assertThat(join(a.claim("stats:4", "a", Duration.ofMillis(200)))).isTrue();
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> join(b.claim("stats:4", "b", Duration.ofMinutes(1))));
  }
}
