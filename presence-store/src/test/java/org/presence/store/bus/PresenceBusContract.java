package org.presence.store.bus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link PresenceBus} must have. Runs against the in-process bus ({@code
 * LocalPresenceBusTest}) and Redis ({@code RedisPresenceBusIT}).
 */
public abstract class PresenceBusContract {
  /** How long a test waits to be sure something was not delivered. */
  private static final Duration QUIET = Duration.ofMillis(300);

  protected PresenceBus bus;
  protected PresenceBus peer;

  /** The bus under test. */
  protected abstract PresenceBus open();

  /**
   * A second bus on the same medium, as another node would have (the same instance for the
   * in-process bus, which has no other node).
   */
  protected abstract PresenceBus openPeer();

  @BeforeEach
  void openBuses() {
    bus = open();
    peer = openPeer();
  }

  @AfterEach
  void closeBuses() {
    if (peer != null && peer != bus) {
      peer.close();
    }
    if (bus != null) {
      bus.close();
    }
  }

  protected static <T> T join(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private record Received(String channel, String text) {}

  private static PresenceBus.Listener into(List<Received> sink) {
    return (channel, message) ->
        sink.add(new Received(channel, new String(message, StandardCharsets.UTF_8)));
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void publish_reachesASubscriberOnceWithTheSameBytes() {
    List<Received> got = new CopyOnWriteArrayList<>();
    join(bus.subscribe("app:1", into(got)));
    join(peer.publish("app:1", bytes("{\"status\":\"online\"}")));
    await().atMost(Duration.ofSeconds(5)).until(() -> got.size() == 1);
    assertThat(got).containsExactly(new Received("app:1", "{\"status\":\"online\"}"));
    await().during(QUIET).until(() -> got.size() == 1);
  }

  @Test
  void publish_keepsOrderPerChannel() {
    List<Received> got = new CopyOnWriteArrayList<>();
    join(bus.subscribe("ordered", into(got)));
    IntStream.range(0, 200).forEach(i -> peer.publish("ordered", bytes(Integer.toString(i))));
    await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 200);
    assertThat(got)
        .extracting(Received::text)
        .containsExactlyElementsOf(IntStream.range(0, 200).mapToObj(Integer::toString).toList());
  }

  @Test
  void publish_reachesEverySubscriptionOfTheChannelOnly() {
    List<Received> a = new CopyOnWriteArrayList<>();
    List<Received> b = new CopyOnWriteArrayList<>();
    List<Received> other = new CopyOnWriteArrayList<>();
    join(bus.subscribe("user:7", into(a)));
    join(peer.subscribe("user:7", into(b)));
    join(bus.subscribe("user:8", into(other)));
    join(bus.publish("user:7", bytes("x")));
    await().atMost(Duration.ofSeconds(5)).until(() -> a.size() == 1 && b.size() == 1);
    await().during(QUIET).until(other::isEmpty);
  }

  @Test
  void unsubscribe_stopsDeliveryToThatSubscriptionOnly() {
    List<Received> kept = new CopyOnWriteArrayList<>();
    List<Received> dropped = new CopyOnWriteArrayList<>();
    join(bus.subscribe("ch", into(kept)));
    PresenceBus.Subscription s = join(bus.subscribe("ch", into(dropped)));
    assertThat(s.channel()).isEqualTo("ch");
    join(s.unsubscribe());
    join(s.unsubscribe());
    join(peer.publish("ch", bytes("after")));
    await().atMost(Duration.ofSeconds(5)).until(() -> kept.size() == 1);
    await().during(QUIET).until(dropped::isEmpty);
  }

  @Test
  void unsubscribe_lastSubscription_thenResubscribeWorks() {
    List<Received> first = new CopyOnWriteArrayList<>();
    PresenceBus.Subscription s = join(bus.subscribe("again", into(first)));
    join(s.unsubscribe());
    join(peer.publish("again", bytes("lost")));
    List<Received> second = new CopyOnWriteArrayList<>();
    join(bus.subscribe("again", into(second)));
    join(peer.publish("again", bytes("found")));
    await().atMost(Duration.ofSeconds(5)).until(() -> second.size() == 1);
    assertThat(second.get(0).text()).isEqualTo("found");
    assertThat(first).isEmpty();
  }

  /**
   * A node's last connection on a channel leaves while another one arrives on it (a device
   * reconnecting to the same node): whatever order the two calls reach the medium in, the new
   * subscription receives what is published once it is active. Bounded: 1,000 rounds, each on its
   * own channel, the two calls started together.
   */
  @Test
  void subscribeRacingTheLastUnsubscribe_isNeverLeftDeaf() throws Exception {
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      for (int round = 0; round < 1000; round++) {
        String channel = "race:" + round;
        PresenceBus.Subscription leaving = join(bus.subscribe(channel, (c, m) -> {}));
        List<Received> arriving = new CopyOnWriteArrayList<>();
        java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
        java.util.concurrent.Future<?> left =
            pool.submit(
                () -> {
                  start.await();
                  return join(leaving.unsubscribe());
                });
        java.util.concurrent.Future<PresenceBus.Subscription> arrived =
            pool.submit(
                () -> {
                  start.await();
                  return join(bus.subscribe(channel, into(arriving)));
                });
        left.get(10, TimeUnit.SECONDS);
        arrived.get(10, TimeUnit.SECONDS);
        join(peer.publish(channel, bytes("after " + round)));
        await()
            .alias("round " + round)
            .pollDelay(Duration.ZERO)
            .pollInterval(Duration.ofMillis(1))
            .atMost(Duration.ofSeconds(2))
            .until(() -> arriving.size() == 1);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void publish_withoutSubscribers_completes() {
    assertThat(join(bus.publish("nobody-listens", bytes("x")))).isNull();
  }

  @Test
  void listenerFailure_doesNotStopLaterDeliveries() {
    List<Received> got = new CopyOnWriteArrayList<>();
    join(
        bus.subscribe(
            "fragile",
            (channel, message) -> {
              got.add(new Received(channel, new String(message, StandardCharsets.UTF_8)));
              if (got.size() == 1) {
                throw new IllegalStateException("listener bug");
              }
            }));
    join(peer.publish("fragile", bytes("1")));
    join(peer.publish("fragile", bytes("2")));
    await().atMost(Duration.ofSeconds(5)).until(() -> got.size() == 2);
  }

  @Test
  void ping_answers() {
    assertThat(join(bus.ping())).isNull();
  }
}
