package org.presence.store.bus;

import static java.util.stream.Collectors.toSet;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.KillArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.SlotHash;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
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

  /**
   * Publishes {@code text} on {@code channel} from {@code from} every 100 ms until {@code heard}
   * (at most 5 s): for a subscription being made again, which a first message may precede.
   */
  static void publishUntil(PresenceBus from, String channel, String text, BooleanSupplier heard) {
    await()
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> {
              join(from.publish(channel, text.getBytes(StandardCharsets.UTF_8)));
              return heard.getAsBoolean();
            });
  }

  /** The address ("host:port") of the Redis server that holds {@code redisName}'s channel. */
  String serverOf(String redisName) {
    RedisURI uri = RedisURI.create(Backends.redisUrl());
    return uri.getHost() + ":" + uri.getPort();
  }

  /** The Redis servers a bus's pub/sub connections go to. */
  List<String> servers() {
    return List.of(serverOf(""));
  }

  /** Per server, the ids of its clients in pub/sub mode (flag {@code P}). */
  Map<String, Set<Long>> pubsubClients() {
    Map<String, Set<Long>> out = new HashMap<>();
    for (String server : servers()) {
      RedisClient raw = RedisClient.create(RedisURI.create("redis://" + server));
      try (StatefulRedisConnection<String, String> c = raw.connect()) {
        Set<Long> ids = new HashSet<>();
        for (String line : c.sync().clientList().split("\n")) {
          Matcher m = PUBSUB_CLIENT.matcher(line);
          if (m.find()) {
            ids.add(Long.parseLong(m.group(1)));
          }
        }
        out.put(server, ids);
      } finally {
        raw.shutdown();
      }
    }
    return out;
  }

  private static final Pattern PUBSUB_CLIENT = Pattern.compile("^id=(\\d+) .* flags=\\w*P");

  /**
   * Redis closes a node's pub/sub connection (as it does a subscriber past its output buffer limit,
   * or a network cut): the bus subscribes that connection's channels again, runs its resubscription
   * listeners with them (only them), and messages published after reach it again. Before, nothing
   * told the listeners on one Redis, so a node's notification sessions never re-read what a wake-up
   * lost meanwhile would have told them.
   */
  @Test
  void aCutPubSubConnection_isSubscribedAgain_andItsListenersHearOfIt() {
    Map<String, Set<Long>> before = pubsubClients();
    RedisBackend backend = RedisBackend.connect(redisConfig(prefix));
    backends.add(backend);
    PresenceBus here = new RedisPresenceBus(backend);
    String cut = "cut.{a:5}";
    String cutServer = serverOf(backend.keys().channel(cut));
    String other =
        IntStream.iterate(6, i -> i + 1)
            .mapToObj(i -> "cut.{a:" + i + "}")
            .filter(
                c ->
                    servers().size() == 1 || !serverOf(backend.keys().channel(c)).equals(cutServer))
            .findFirst()
            .orElseThrow();
    // On the same server as the cut one, in another slot: on a cluster, Lettuce's own
    // resubscription of the two in one SSUBSCRIBE is refused (CROSSSLOT); the bus's holds.
    int cutSlot = SlotHash.getSlot(backend.keys().channel(cut));
    String third =
        IntStream.iterate(100, i -> i + 1)
            .mapToObj(i -> "cut.{a:" + i + "}")
            .filter(
                c ->
                    SlotHash.getSlot(backend.keys().channel(c)) != cutSlot
                        && serverOf(backend.keys().channel(c)).equals(cutServer))
            .findFirst()
            .orElseThrow();
    List<String> got = new CopyOnWriteArrayList<>();
    join(here.subscribe(cut, (c, m) -> got.add(c)));
    join(here.subscribe(other, (c, m) -> got.add(c)));
    join(here.subscribe(third, (c, m) -> got.add(c)));
    List<Set<String>> rounds = new CopyOnWriteArrayList<>();
    here.onResubscribed(rounds::add);
    Set<Long> mine = new HashSet<>(pubsubClients().get(cutServer));
    mine.removeAll(before.get(cutServer));
    assertThat(mine).hasSize(1);
    RedisClient raw = RedisClient.create(RedisURI.create("redis://" + cutServer));
    try (StatefulRedisConnection<String, String> c = raw.connect()) {
      assertThat(c.sync().clientKill(KillArgs.Builder.id(mine.iterator().next()))).isEqualTo(1);
    } finally {
      raw.shutdown();
    }
    // Every channel of the cut connection confirmed and told (in one round, or more if one of them
    // had to be tried again), and no other.
    Set<String> expected = servers().size() == 1 ? Set.of(cut, other, third) : Set.of(cut, third);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> rounds.stream().flatMap(Set::stream).collect(toSet()).equals(expected));
    await()
        .during(Duration.ofMillis(300))
        .until(() -> rounds.stream().flatMap(Set::stream).allMatch(expected::contains));
    for (String channel : List.of(cut, other, third)) {
      publishUntil(peer, channel, "after", () -> got.contains(channel));
    }
  }

  /** Whether Redis has a subscriber on {@code redisName} (a shard channel on a cluster). */
  boolean redisHasSubscribers(RedisBackend backend, String redisName) {
    return !backend.commands().sync().pubsubChannels(redisName).isEmpty();
  }

  /** Has the backend's own pub/sub connection subscribe {@code redisName}, past the bus. */
  void subscribePastTheBus(RedisBackend backend, String redisName) {
    backend.pubsub().sync().subscribe(redisName);
  }

  /**
   * A subscription Redis confirms for a channel the node does not hold is ended: Lettuce subscribes
   * again after a reconnect every channel Redis confirmed on that connection, also one whose
   * unsubscribe could not be sent while it was down. Played here by subscribing the connection past
   * the bus, as Lettuce's own resubscription does.
   */
  @Test
  void aSubscriptionTheNodeDoesNotHold_isEndedWhenRedisConfirmsIt() {
    RedisBackend backend = RedisBackend.connect(redisConfig(prefix));
    backends.add(backend);
    PresenceBus here = new RedisPresenceBus(backend);
    List<String> got = new CopyOnWriteArrayList<>();
    join(here.subscribe("held.{a:31}", (c, m) -> got.add(c)));
    String stray = backend.keys().channel("stray.{a:31}");
    subscribePastTheBus(backend, stray);
    await()
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> !redisHasSubscribers(backend, stray));
    assertThat(redisHasSubscribers(backend, backend.keys().channel("held.{a:31}"))).isTrue();
    join(peer.publish("held.{a:31}", "still".getBytes(StandardCharsets.UTF_8)));
    await().atMost(Duration.ofSeconds(5)).until(() -> got.contains("held.{a:31}"));
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
