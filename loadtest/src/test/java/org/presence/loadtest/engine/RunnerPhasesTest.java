package org.presence.loadtest.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.loadtest.scenario.Dsl.atOnce;
import static org.presence.loadtest.scenario.Dsl.chain;
import static org.presence.loadtest.scenario.Dsl.nothingFor;
import static org.presence.loadtest.scenario.Dsl.rampUsers;
import static org.presence.loadtest.scenario.Dsl.scenario;
import static org.presence.loadtest.scenario.Dsl.simulation;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.presence.loadtest.floor.FloorServer;
import org.presence.loadtest.metrics.Clock;
import org.presence.loadtest.metrics.Metrics;
import org.presence.loadtest.probe.ServerProbe;
import org.presence.loadtest.scenario.Simulation;
import org.presence.loadtest.targets.AppChannel;
import org.presence.loadtest.targets.DeviceChannel;
import org.presence.loadtest.targets.Inbound;
import org.presence.loadtest.targets.NotificationApi;
import org.presence.loadtest.targets.Target;
import org.presence.loadtest.targets.VirtualApp;
import org.presence.loadtest.transport.SourceAddresses;
import org.presence.loadtest.transport.Transport;
import org.presence.loadtest.transport.WsConnector;

/**
 * The run's two moments that belong to the whole run and not to one slice ({@link Runner.Phase}),
 * against a real floor: senders start only once the apps are subscribed, however long that takes;
 * the apps stay until every slice's senders are done and what they sent has arrived. Each test
 * forces the timing that lost updates before (a slow subscription, a slow relay, one slice's
 * senders ending before the other's) and checks that every update sent was delivered.
 */
class RunnerPhasesTest {
  private FloorServer floor;
  private EventLoopGroup loops;
  private WsConnector connector;
  private URI url;

  @BeforeEach
  void start() throws Exception {
    floor = FloorServer.start("127.0.0.1", 0, 1, Transport.best());
    url = URI.create("http://127.0.0.1:" + floor.port());
    loops = Transport.best().group(2, "phases-test");
    connector =
        new WsConnector(Transport.best(), SourceAddresses.parse(""), Duration.ofSeconds(10));
  }

  @AfterEach
  void stop() {
    Transport.shutDown(loops, Duration.ofSeconds(1)).awaitUninterruptibly();
    floor.close();
  }

  /** Apps subscribed in the background; {@code devices} each send {@code sends} statuses. */
  private static Simulation fanout(long devices, int apps, int sends, Duration devicesAfter) {
    return simulation("phases")
        .population(
            scenario("apps")
                .subscribe()
                .holdUntilEnd()
                .disconnect()
                .asApps()
                .inject(atOnce(apps))
                .inBackground())
        .population(
            scenario("devices")
                .connect()
                .repeat(sends, chain().sendStatusFlip().pause(Duration.ofMillis(20)))
                .disconnect()
                .inject(nothingFor(devicesAfter), atOnce(devices)))
        .maxDuration(Duration.ofSeconds(20))
        .build();
  }

  private Metrics run(Simulation sim, Target target) throws Exception {
    Metrics m = new Metrics();
    new Runner(sim, target, m, loops, Tokens.none(), 0, 1)
        .grace(Duration.ofSeconds(2))
        .run(Clock.millis());
    return m;
  }

  @Test
  void devicesStartOnlyOnceTheAppsAreSubscribed_however_longThatTakes() throws Exception {
    // Subscribing takes 1.5 s; the devices' schedule says 100 ms.
    Target slowApps = new Shaped(Targets.floor(url, connector, false), Duration.ofMillis(1500), 0);
    Metrics m = run(fanout(4, 2, 5, Duration.ofMillis(100)), slowApps);

    assertThat(m.totalErrors()).isZero();
    assertThat(m.total(Metrics.SENT)).isEqualTo(20);
    assertThat(m.total(Metrics.DELIVERED)).isEqualTo(20);
  }

  @Test
  void appsStayUntilWhatTheDevicesSentLastHasArrived() throws Exception {
    // The relay takes 300 ms, longer than the devices' last pause before they disconnect.
    Target slowRelay = new Shaped(Targets.floor(url, connector, false), Duration.ZERO, 300);
    Metrics m = run(fanout(4, 2, 5, Duration.ZERO), slowRelay);

    assertThat(m.totalErrors()).isZero();
    assertThat(m.total(Metrics.SENT)).isEqualTo(20);
    assertThat(m.total(Metrics.DELIVERED)).isEqualTo(20);
  }

  @Test
  void appsStayUntilEverySlicesDevicesAreDone() throws Exception {
    // One app, in slice 0; device 0 runs in slice 0, device 1 (reporting to app 0 too) in slice
    // 1. Device 1 starts 1.8 s after device 0, so slice 0's app hears nothing for longer than
    // DRAIN_QUIET after its own slice's device is done: only the other slice's end may end it.
    Simulation sim =
        simulation("two slices")
            .population(
                scenario("apps")
                    .subscribe()
                    .holdUntilEnd()
                    .disconnect()
                    .asApps()
                    .inject(atOnce(1))
                    .inBackground())
            .population(
                scenario("devices")
                    .connect()
                    .during(
                        Duration.ofMillis(300),
                        chain().sendStatusFlip().pause(Duration.ofMillis(30)))
                    .disconnect()
                    .inject(rampUsers(2).during(Duration.ofMillis(3600))))
            .maxDuration(Duration.ofSeconds(20))
            .build();
    Target target = Targets.floor(url, connector, false);
    Metrics[] metrics = {new Metrics(), new Metrics()};
    Runner[] slices = new Runner[2];
    // What the coordinator does for injector processes: tell every slice once all reached a phase.
    Map<Runner.Phase, AtomicInteger> reached = new EnumMap<>(Runner.Phase.class);
    for (Runner.Phase p : Runner.Phase.values()) {
      reached.put(p, new AtomicInteger());
    }
    for (int i = 0; i < 2; i++) {
      slices[i] =
          new Runner(sim, target, metrics[i], loops, Tokens.none(), i, 2)
              .grace(Duration.ofSeconds(2))
              .coordinated(
                  p -> {
                    if (reached.get(p).incrementAndGet() == 2) {
                      for (Runner r : slices) {
                        r.everyReached(p);
                      }
                    }
                  });
    }
    long startAt = Clock.millis() + 100;
    List<CompletableFuture<Void>> runs = new ArrayList<>();
    for (Runner r : slices) {
      runs.add(
          CompletableFuture.runAsync(
              () -> {
                try {
                  r.run(startAt);
                } catch (InterruptedException e) {
                  throw new IllegalStateException(e);
                }
              }));
    }
    CompletableFuture.allOf(runs.toArray(CompletableFuture<?>[]::new)).get(30, TimeUnit.SECONDS);

    long sent = metrics[0].total(Metrics.SENT) + metrics[1].total(Metrics.SENT);
    assertThat(metrics[1].total(Metrics.SENT)).as("slice 1's device sent").isPositive();
    assertThat(metrics[0].totalErrors() + metrics[1].totalErrors()).isZero();
    assertThat(metrics[0].total(Metrics.DELIVERED))
        .as("delivered to slice 0's app")
        .isEqualTo(sent);
  }

  /**
   * A target whose app subscriptions take {@code subscribeDelay} and whose relayed frames reach the
   * apps {@code relayMillis} late; a frame still on its way when the app's connection closes is
   * lost, as on a network.
   */
  private static final class Shaped implements Target {
    private final Target inner;
    private final Duration subscribeDelay;
    private final long relayMillis;

    Shaped(Target inner, Duration subscribeDelay, long relayMillis) {
      this.inner = inner;
      this.subscribeDelay = subscribeDelay;
      this.relayMillis = relayMillis;
    }

    @Override
    public String name() {
      return inner.name();
    }

    @Override
    public URI baseUrl() {
      return inner.baseUrl();
    }

    @Override
    public Optional<DeviceChannel> devices() {
      return inner.devices();
    }

    @Override
    public Optional<AppChannel> apps() {
      AppChannel channel = inner.apps().orElseThrow();
      return Optional.of((loop, inbound) -> app(channel, loop, inbound));
    }

    private VirtualApp app(AppChannel channel, EventLoop loop, Inbound inbound) {
      boolean[] closed = {false};
      Inbound late =
          new Inbound() {
            @Override
            public void frame(ByteBuf utf8) {
              ByteBuf copy = Unpooled.copiedBuffer(utf8);
              loop.schedule(
                  () -> {
                    try {
                      if (!closed[0]) {
                        inbound.frame(copy);
                      }
                    } finally {
                      copy.release();
                    }
                  },
                  relayMillis,
                  TimeUnit.MILLISECONDS);
            }

            @Override
            public void closed(boolean byServer, String reason) {
              closed[0] = true;
              inbound.closed(byServer, reason);
            }
          };
      VirtualApp a = channel.newApp(loop, relayMillis > 0 ? late : inbound);
      return new VirtualApp() {
        @Override
        public CompletionStage<Void> subscribe(int app) {
          CompletableFuture<Void> later = new CompletableFuture<>();
          loop.schedule(
              () -> a.subscribe(app).whenComplete((v, e) -> complete(later, e)),
              subscribeDelay.toMillis(),
              TimeUnit.MILLISECONDS);
          return later;
        }

        @Override
        public CompletionStage<Void> disconnect() {
          return a.disconnect();
        }

        @Override
        public boolean isOpen() {
          return a.isOpen();
        }

        @Override
        public void abort() {
          a.abort();
        }
      };
    }

    private static void complete(CompletableFuture<Void> f, Throwable e) {
      if (e != null) {
        f.completeExceptionally(e);
      } else {
        f.complete(null);
      }
    }

    @Override
    public Optional<NotificationApi> notifications() {
      return inner.notifications();
    }

    @Override
    public boolean needsAssertions() {
      return false;
    }

    @Override
    public ServerProbe probe() {
      return inner.probe();
    }

    @Override
    public void close() {
      inner.close();
    }
  }
}
