package org.presence.store.bus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;

class RedisPresenceBusIT extends PresenceBusContract {
  /** The Redis settings: one Redis here, a Redis Cluster in {@link RedisPresenceBusClusterIT}. */
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redis(keyPrefix);
  }

  static String prefix;
  final List<RedisBackend> backends = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void pickPrefix() {
    Backends.redisUrl();
    prefix = Backends.uniquePrefix(RedisPresenceBusIT.class);
  }

  PresenceBus connect(String keyPrefix) {
    RedisBackend backend = RedisBackend.connect(redisConfig(keyPrefix));
    backends.add(backend);
    return new RedisPresenceBus(backend);
  }

  @Override
  protected PresenceBus open() {
    return connect(prefix);
  }

  @Override
  protected PresenceBus openPeer() {
    return connect(prefix);
  }

  @AfterEach
  void closeBackends() {
    backends.forEach(RedisBackend::close);
  }

  @Test
  void kind_isRedis() {
    assertThat(bus.kind()).isEqualTo("redis");
  }

  @Test
  void publish_doesNotCrossKeyPrefixes() {
    PresenceBus stranger = connect(prefix + "other:");
    List<String> got = new CopyOnWriteArrayList<>();
    List<String> strangerGot = new CopyOnWriteArrayList<>();
    join(bus.subscribe("shared-name", (c, m) -> got.add(new String(m, StandardCharsets.UTF_8))));
    join(stranger.subscribe("shared-name", (c, m) -> strangerGot.add("x")));
    join(peer.publish("shared-name", "hello".getBytes(StandardCharsets.UTF_8)));
    await().atMost(Duration.ofSeconds(5)).until(() -> got.size() == 1);
    await().during(Duration.ofMillis(300)).until(strangerGot::isEmpty);
  }
}
