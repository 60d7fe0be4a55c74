package org.presence.gateway.cluster;

import static org.presence.store.testing.Futures.join;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.presence.gateway.config.ConfigLoader;
import org.presence.gateway.config.PresenceConfig;
import org.presence.gateway.device.DeviceChannel;
import org.presence.gateway.error.Disconnector;
import org.presence.gateway.error.ExceptionHandler;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.identity.Identity;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.Store;
import org.presence.store.config.StoreConfig;
import org.presence.store.testing.Backends;

/**
 * What the tests of {@link NodeLiveness} share: a store (the embedded one, or one on the test Redis
 * under a key prefix of the test class's own), the real device channel over it, which accepts any
 * token and records the users whose presence change it publishes, and devices claimed for sessions
 * of any node. Open it in {@code @BeforeEach}, close it in {@code @AfterEach}.
 */
final class LivenessFixture implements AutoCloseable {
  final Store store;
  final DeviceChannel devices;

  /** The users whose presence change the device channel published, in order. */
  final List<String> published = new CopyOnWriteArrayList<>();

  private LivenessFixture(Store store, Path nodeDir, GatewayMetrics metrics) {
    this.store = store;
    try {
      PresenceConfig config = ConfigLoader.load(null, Map.of(), TestNode.baseSettings(nodeDir));
      Disconnector disconnector = new Disconnector(metrics);
      devices =
          DeviceChannel.start(
              config,
              token ->
                  CompletableFuture.completedFuture(
                      new Identity(token, "", Instant.now().plusSeconds(60))),
              store,
              (user, update, now) -> {
                published.add(user);
                return CompletableFuture.completedFuture(null);
              },
              metrics,
              disconnector,
              new ExceptionHandler(disconnector),
              HttpRoutes.builder());
    } catch (RuntimeException | Error e) {
      store.close();
      throw e;
    }
  }

  /** Over the embedded store, in {@code dir}. */
  static LivenessFixture embedded(Path dir, GatewayMetrics metrics) {
    return new LivenessFixture(
        Store.open(StoreConfig.embedded(dir.resolve("store"))), dir.resolve("node"), metrics);
  }

  /** Over a store on the test Redis, under a key prefix of {@code test}'s own. */
  static LivenessFixture onRedis(Path dir, Class<?> test, GatewayMetrics metrics) {
    StoreConfig storeConfig =
        new StoreConfig(
            dir.resolve("store"),
            StoreConfig.DatabaseConfig.embedded(),
            Backends.redis(Backends.uniquePrefix(test)),
            2,
            64);
    return new LivenessFixture(Store.open(storeConfig), dir.resolve("node"), metrics);
  }

  /** Claims {@code user}'s phone for a new session of {@code node}, online; the session. */
  UUID online(String user, String node) {
    UUID session = UUID.randomUUID();
    long now = System.currentTimeMillis();
    join(store.presence().claim(user, "phone", session, node, 5, now));
    join(store.presence().update(user, "phone", session, PresenceStatus.ONLINE, null, null, now));
    return session;
  }

  /**
   * Plays another node: renews {@code node}'s lease now, then on {@code on} every {@code beat}
   * while {@code beating} says so.
   */
  void beatAs(
      ScheduledExecutorService on,
      String node,
      Duration lease,
      Duration beat,
      BooleanSupplier beating) {
    join(store.nodes().heartbeat(node, lease));
    on.scheduleWithFixedDelay(
        () -> {
          if (beating.getAsBoolean()) {
            join(store.nodes().heartbeat(node, lease));
          }
        },
        beat.toMillis(),
        beat.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    try {
      devices.close();
    } finally {
      store.close();
    }
  }
}
