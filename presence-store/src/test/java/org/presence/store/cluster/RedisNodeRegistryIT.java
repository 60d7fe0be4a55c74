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
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;

class RedisNodeRegistryIT extends NodeRegistryContract {
  /** The Redis settings: one Redis here, a Redis Cluster in {@link RedisNodeRegistryClusterIT}. */
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redis(keyPrefix);
  }

  private static String prefix;
  private final List<RedisBackend> backends = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void pickPrefix() {
    Backends.redisUrl();
    prefix = Backends.uniquePrefix(RedisNodeRegistryIT.class);
  }

  @Override
  protected NodeRegistry open() {
    RedisBackend b = RedisBackend.connect(redisConfig(prefix));
    backends.add(b);
    return new RedisNodeRegistry(b);
  }

  @Override
  protected void closeAll() {
    backends.forEach(RedisBackend::close);
    backends.clear();
  }

  /**
   * A drain is recorded with the time the node's lease runs out, taken once by the next run under
   * the id, and no longer taken once that lease has run out; a node that never drained has no
   * record. The record outlives the lease, so that the survivor cleaning up can tell the drained
   * node from a dead one, until a run under the id takes it.
   */
  @Test
  void aDrainIsTakenOnce_andLastsAsLongAsTheLease() throws Exception {
    NodeRegistry registry = open();
    String node = node();
    assertThat(registry.takeDrained(node).toCompletableFuture().get()).isEmpty();
    assertThat(registry.drainedBefore(node).toCompletableFuture().get())
        .as("never drained")
        .isFalse();
    registry.heartbeat(node, Duration.ofSeconds(30)).toCompletableFuture().get();
    registry.drained(node).toCompletableFuture().get();
    assertThat(registry.drainedBefore(node).toCompletableFuture().get()).isTrue();
    var left = registry.takeDrained(node).toCompletableFuture().get();
    assertThat(left).isPresent();
    assertThat(left.getAsLong()).isBetween(25_000L, 30_000L);
    assertThat(registry.takeDrained(node).toCompletableFuture().get()).as("taken").isEmpty();
    assertThat(registry.drainedBefore(node).toCompletableFuture().get()).as("taken").isFalse();

    String brief = node();
    registry.heartbeat(brief, Duration.ofMillis(300)).toCompletableFuture().get();
    registry.drained(brief).toCompletableFuture().get();
    Thread.sleep(500);
    assertThat(registry.drainedBefore(brief).toCompletableFuture().get())
        .as("its lease ran out, the record is kept")
        .isTrue();
    assertThat(registry.takeDrained(brief).toCompletableFuture().get())
        .as("its lease ran out")
        .isEmpty();
  }

  /**
   * A rolling upgrade from the version that kept a lease key per node: a node of that version (its
   * key and its place in the set, written here as it wrote them) is alive while its key lives, and
   * expires, is claimed and cleaned up once the key is gone; a node of this version also renews
   * such a key, which is what the earlier version reads, and gives it up when it leaves.
   */
  @Test
  void nodesOfTheVersionWithALeaseKeyEach_andThisVersion_seeEachOtherAlive() {
    NodeRegistry registry = open();
    RedisBackend b = backends.get(backends.size() - 1);
    var redis = b.commands().sync();
    String old = node();
    String current = node();
    String oldKey = b.keys().group("nodes", "node", old);
    redis.set(oldKey, "1".getBytes(), io.lettuce.core.SetArgs.Builder.px(30_000));
    redis.sadd(b.keys().group("nodes", "nodes", ""), old.getBytes());
    join(registry.heartbeat(current, Duration.ofSeconds(30)));
    assertThat(join(registry.alive())).contains(old, current);
    assertThat(join(registry.expired())).doesNotContain(old, current);
    assertThat(redis.pttl(b.keys().group("nodes", "node", current)))
        .as("the earlier version's lease key of a node of this version")
        .isBetween(1L, 30_000L);

    redis.del(oldKey);
    assertThat(join(registry.alive())).contains(current).doesNotContain(old);
    assertThat(join(registry.expired())).contains(old);
    assertThat(join(registry.claim(old, current))).isTrue();
    join(registry.cleaned(old, current));
    assertThat(join(registry.expired())).doesNotContain(old);

    join(registry.leave(current));
    assertThat(redis.exists(b.keys().group("nodes", "node", current))).isZero();
    assertThat(join(registry.alive())).doesNotContain(current);
  }

  /**
   * The survey's second list: the members alive by the earlier version's lease key alone (a node of
   * that version; one rolled back to it, whose field of this version is long past), not a node of
   * this version (field and key), nor one whose field ran out a moment ago while its key, of the
   * same expiry, still lives, nor a dead one (which the first list has). A node of the earlier
   * version leaves the list once its key is gone, and is expired then.
   */
  @Test
  void survey_listsTheLiveNodesOfTheEarlierVersion_alone() {
    NodeRegistry registry = open();
    RedisBackend b = backends.get(backends.size() - 1);
    var redis = b.commands().sync();
    String leases = b.keys().group("nodes", "nodes:leases", "");
    String set = b.keys().group("nodes", "nodes", "");
    String old = node();
    String back = node();
    String moment = node();
    String current = node();
    String dead = node();
    for (String n : List.of(old, back, moment, dead)) {
      redis.sadd(set, n.getBytes());
    }
    for (String n : List.of(old, back, moment)) {
      redis.set(
          b.keys().group("nodes", "node", n),
          "1".getBytes(),
          io.lettuce.core.SetArgs.Builder.px(30_000));
    }
    List<byte[]> t = redis.time();
    long now =
        Long.parseLong(new String(t.get(0))) * 1000 + Long.parseLong(new String(t.get(1))) / 1000;
    redis.hset(leases, back, String.valueOf(now - 60_000).getBytes());
    redis.hset(leases, moment, String.valueOf(now - 200).getBytes());
    join(registry.heartbeat(current, Duration.ofSeconds(30)));

    NodeRegistry.Survey survey = join(registry.survey());
    assertThat(survey.earlierVersion()).contains(old, back).doesNotContain(moment, current, dead);
    assertThat(survey.expired()).contains(dead).doesNotContain(old, back, moment, current);
    assertThat(join(registry.alive())).contains(old, back, moment, current).doesNotContain(dead);

    redis.del(b.keys().group("nodes", "node", old));
    survey = join(registry.survey());
    assertThat(survey.earlierVersion()).contains(back).doesNotContain(old);
    assertThat(survey.expired()).contains(old, dead);
  }

  /**
   * A node rolled back to the version with a lease key each, under an id that ran this version
   * before: the lease hash keeps the field that run left (in the past now), and only the key is
   * renewed. The node is alive while its key lives, and dead once it is gone.
   */
  @Test
  void aNodeRolledBackToTheEarlierVersion_isAliveByItsKey_despiteItsOldFieldInTheLeaseHash() {
    NodeRegistry registry = open();
    RedisBackend b = backends.get(backends.size() - 1);
    var redis = b.commands().sync();
    String back = node();
    String survivor = node();
    join(registry.heartbeat(survivor, Duration.ofSeconds(30)));
    // Its run of this version: a field and the set, then stopped (nothing renews the field) ...
    join(registry.heartbeat(back, Duration.ofMillis(200)));
    await().atMost(Duration.ofSeconds(5)).until(() -> join(registry.expired()).contains(back));
    // ... and its run of the earlier version: the key alone, as that version renews it.
    String oldKey = b.keys().group("nodes", "node", back);
    redis.set(oldKey, "1".getBytes(), io.lettuce.core.SetArgs.Builder.px(30_000));
    assertThat(redis.hget(b.keys().group("nodes", "nodes:leases", ""), back))
        .as("the field its run of this version left")
        .isNotNull();
    assertThat(join(registry.alive())).contains(back, survivor);
    assertThat(join(registry.expired())).doesNotContain(back);
    assertThat(join(registry.claim(back, survivor))).as("nobody cleans up a live node").isFalse();

    redis.del(oldKey);
    assertThat(join(registry.expired())).contains(back);
    assertThat(join(registry.claim(back, survivor))).isTrue();
  }

  @Test
  void aNodeThatStopsRenewing_expires_andExactlyOneSurvivorClaimsIt() {
    NodeRegistry victim = open();
    String dead = node();
    join(victim.heartbeat(dead, Duration.ofMillis(300)));
    List<NodeRegistry> survivors = IntStream.range(0, 5).mapToObj(i -> open()).toList();
    List<String> ids = IntStream.range(0, 5).mapToObj(i -> node()).toList();
    for (int i = 0; i < 5; i++) {
      join(survivors.get(i).heartbeat(ids.get(i), Duration.ofSeconds(30)));
    }
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> join(survivors.get(0).expired()).contains(dead));
    List<CompletableFuture<Boolean>> claims =
        IntStream.range(0, survivors.size())
            .mapToObj(i -> survivors.get(i).claim(dead, ids.get(i)).toCompletableFuture())
            .toList();
    assertThat(claims.stream().filter(c -> join(c)).count()).isEqualTo(1);
    String winner =
        ids.get(IntStream.range(0, 5).filter(i -> join(claims.get(i))).findFirst().orElseThrow());
    assertThat(join(survivors.get(1).expired()))
        .as("claimed by a live node: nobody else sees it")
        .doesNotContain(dead);
    assertThat(join(survivors.get(1).claim(dead, node()))).isFalse();
    join(survivors.get(0).cleaned(dead, winner));
    assertThat(join(survivors.get(2).expired())).doesNotContain(dead);
    assertThat(join(survivors.get(2).claim(dead, ids.get(2))))
        .as("forgotten once cleaned")
        .isFalse();
    assertThat(join(victim.heartbeat(dead, Duration.ofSeconds(30))))
        .as("a node back after its clean-up learns it was declared dead")
        .isFalse();
  }

  @Test
  void aClaimerThatDiesMidway_handsTheCleanUpToTheNextSurvivor() {
    NodeRegistry r = open();
    String dead = node();
    String firstClaimer = node();
    String second = node();
    join(r.heartbeat(dead, Duration.ofMillis(200)));
    join(r.heartbeat(firstClaimer, Duration.ofMillis(600)));
    join(r.heartbeat(second, Duration.ofSeconds(30)));
    await().atMost(Duration.ofSeconds(5)).until(() -> join(r.expired()).contains(dead));
    assertThat(join(r.claim(dead, firstClaimer))).isTrue();
    assertThat(join(r.claim(dead, second))).as("the first claimer is alive").isFalse();
    // The first claimer dies before it reports the clean-up done.
    await().atMost(Duration.ofSeconds(5)).until(() -> join(r.expired()).contains(dead));
    assertThat(join(r.claim(dead, second))).isTrue();
    // The late report of the dead claimer changes nothing; the second's forgets the node.
    join(r.cleaned(dead, firstClaimer));
    assertThat(join(r.alive())).doesNotContain(dead);
    assertThat(join(r.claim(dead, node()))).isFalse();
    join(r.cleaned(dead, second));
    assertThat(join(r.expired())).doesNotContain(dead).contains(firstClaimer);
  }

  @Test
  void aNodeThatComesBackWhileBeingCleanedUp_learnsIt_andIsNotForgotten() {
    NodeRegistry r = open();
    String dead = node();
    String claimer = node();
    join(r.heartbeat(dead, Duration.ofMillis(200)));
    join(r.heartbeat(claimer, Duration.ofSeconds(30)));
    await().atMost(Duration.ofSeconds(5)).until(() -> join(r.expired()).contains(dead));
    assertThat(join(r.claim(dead, claimer))).isTrue();
    assertThat(join(r.heartbeat(dead, Duration.ofSeconds(30)))).isFalse();
    join(r.cleaned(dead, claimer));
    assertThat(join(r.alive())).contains(dead);
    assertThat(join(r.heartbeat(dead, Duration.ofSeconds(30)))).isTrue();
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
