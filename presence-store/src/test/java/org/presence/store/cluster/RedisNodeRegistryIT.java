package org.presence.store.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;

class RedisNodeRegistryIT extends NodeRegistryContract {
  private static String prefix;
  private final List<RedisBackend> backends = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void pickPrefix() {
    Backends.redisUrl();
    prefix = Backends.uniquePrefix(RedisNodeRegistryIT.class);
  }

  @Override
  protected NodeRegistry open() {
    RedisBackend b = RedisBackend.connect(Backends.redis(prefix));
    backends.add(b);
    return new RedisNodeRegistry(b);
  }

  @Override
  protected void closeAll() {
    backends.forEach(RedisBackend::close);
    backends.clear();
  }

  @Test
  void aNodeThatStopsRenewing_expires_andExactlyOneSurvivorClaimsIt() {
    NodeRegistry victim = open();
    String dead = node();
    join(victim.heartbeat(dead, Duration.ofMillis(300)));
    List<NodeRegistry> survivors = IntStream.range(0, 5).mapToObj(i -> open()).toList();
    await().atMost(Duration.ofSeconds(5)).until(() -> join(survivors.get(0).expired()).contains(dead));
    List<CompletableFuture<Boolean>> claims =
        IntStream.range(0, survivors.size())
            .mapToObj(i -> survivors.get(i).claim(dead, "s" + i).toCompletableFuture())
            .toList();
    assertThat(claims.stream().filter(c -> join(c)).count()).isEqualTo(1);
    assertThat(join(survivors.get(1).expired())).doesNotContain(dead);
    assertThat(join(survivors.get(1).claim(dead, "late"))).isFalse();
    assertThat(join(victim.heartbeat(dead, Duration.ofSeconds(30))))
        .as("a node back after its clean-up learns it was declared dead")
        .isFalse();
  }

  @Test
  void aNodeThatComesBackBeforeTheClaim_isAliveAgain() {
    NodeRegistry r = open();
    String n = node();
    join(r.heartbeat(n, Duration.ofMillis(200)));
    await().atMost(Duration.ofSeconds(5)).until(() -> join(r.expired()).contains(n));
    join(r.heartbeat(n, Duration.ofSeconds(30)));
    assertThat(join(r.claim(n, "other"))).isFalse();
    assertThat(join(r.alive())).contains(n);
  }
}
