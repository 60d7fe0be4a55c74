package org.presence.loadtest.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.presence.loadtest.scenario.Dsl.atOnce;
import static org.presence.loadtest.scenario.Dsl.chain;
import static org.presence.loadtest.scenario.Dsl.scenario;
import static org.presence.loadtest.scenario.Dsl.simulation;

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.presence.loadtest.metrics.Metrics;
import org.presence.loadtest.targets.ClientException;
import org.presence.loadtest.targets.Target;
import org.presence.loadtest.transport.Transport;

class DslTest {
  private final EventLoop loop = new DefaultEventLoop();

  @AfterEach
  void stop() {
    Transport.shutDown(loop, Duration.ofSeconds(1)).awaitUninterruptibly();
  }

  /** An action that notes its name in {@code log}. */
  private static Action note(List<String> log, String name) {
    return Actions.of(
        name,
        Set.of(),
        u -> {
          log.add(name);
          return CompletableFuture.completedFuture(null);
        });
  }

  private static RunContext context(Metrics metrics) {
    return new RunContext() {
      @Override
      public Target target() {
        throw new UnsupportedOperationException("no target in this test");
      }

      @Override
      public Metrics metrics() {
        return metrics;
      }

      @Override
      public String assertion(long user) {
        return "";
      }

      @Override
      public int apps() {
        return 1;
      }

      @Override
      public long deviceUsers() {
        return 1;
      }

      @Override
      public boolean stopping() {
        return false;
      }
    };
  }

  private void runOn(Population p, VirtualUser u) throws Exception {
    CompletableFuture<Void> done = new CompletableFuture<>();
    loop.execute(
        () ->
            p.runFor(u)
                .whenComplete(
                    (v, e) -> {
                      if (e != null) {
                        done.completeExceptionally(e);
                      } else {
                        done.complete(null);
                      }
                    }));
    done.get(10, TimeUnit.SECONDS);
  }

  @Test
  void steps_runInOrder_withLoopsAndPauses() throws Exception {
    List<String> log = new ArrayList<>();
    Population p =
        scenario("s")
            .exec(note(log, "a"))
            .repeat(3, chain().exec(note(log, "r")).pause(Duration.ofMillis(1)))
            .exec(note(log, "b"))
            .inject(atOnce(1));
    runOn(p, new VirtualUser(0, loop, context(new Metrics())));
    assertThat(log).containsExactly("a", "r", "r", "r", "b");
  }

  @Test
  void longSynchronousLoops_doNotGrowTheStack() throws Exception {
    List<String> log = new ArrayList<>();
    Population p = scenario("s").repeat(200_000, chain().exec(note(log, "x"))).inject(atOnce(1));
    runOn(p, new VirtualUser(0, loop, context(new Metrics())));
    assertThat(log).hasSize(200_000);
  }

  @Test
  void during_repeatsUntilTheTimeIsUp() throws Exception {
    List<String> log = new ArrayList<>();
    Population p =
        scenario("s")
            .during(Duration.ofMillis(50), chain().exec(note(log, "x")).pause(Duration.ofMillis(5)))
            .inject(atOnce(1));
    long start = System.nanoTime();
    runOn(p, new VirtualUser(0, loop, context(new Metrics())));
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .isGreaterThanOrEqualTo(Duration.ofMillis(50));
    assertThat(log).isNotEmpty();
  }

  @Test
  void failingCheck_endsTheUserWithItsKind() {
    List<String> log = new ArrayList<>();
    Population p =
        scenario("s")
            .check(new Check("never", u -> false))
            .exec(note(log, "after"))
            .inject(atOnce(1));
    assertThatThrownBy(() -> runOn(p, new VirtualUser(0, loop, context(new Metrics()))))
        .hasCauseInstanceOf(ClientException.class)
        .satisfies(e -> assertThat(ClientException.kindOf(e)).isEqualTo("check never"));
    assertThat(log).isEmpty();
  }

  @Test
  void receive_timesOutWithoutFrames() {
    Population p = scenario("s").receive(1, Duration.ofMillis(20)).inject(atOnce(1));
    assertThatThrownBy(() -> runOn(p, new VirtualUser(0, loop, context(new Metrics()))))
        .satisfies(e -> assertThat(ClientException.kindOf(e)).isEqualTo("receive-timeout"));
  }

  @Test
  void requires_collectsChannelsFromNestedSteps() {
    Simulation s =
        simulation("x")
            .population(
                scenario("d")
                    .during(Duration.ofSeconds(1), chain().connect().sendStatus("online"))
                    .inject(atOnce(1)))
            .population(scenario("a").subscribe().asApps().inject(atOnce(1)).inBackground())
            .build();
    assertThat(s.requires()).containsExactlyInAnyOrder(Action.Channel.DEVICES, Action.Channel.APPS);
    assertThat(s.deviceUsers()).isEqualTo(1);
    assertThat(s.users()).isEqualTo(2);
    assertThat(s.populations().get(1).background()).isTrue();
  }

  @Test
  void builtInScenarios_allBuildWithDefaults() {
    for (String name : Scenarios.list().keySet()) {
      Simulation s = Scenarios.build(name, ScenarioParams.defaults()).orElseThrow();
      assertThat(s.name()).isEqualTo(name);
      assertThat(s.users()).isPositive();
      assertThat(s.maxDuration()).isPositive();
    }
    assertThat(Scenarios.build("nope", ScenarioParams.defaults())).isEmpty();
    assertThat(Scenarios.build("notify", ScenarioParams.defaults()).orElseThrow().requires())
        .contains(Action.Channel.NOTIFICATIONS);
    assertThat(Scenarios.build("idle-density", ScenarioParams.defaults()).orElseThrow().probeAt())
        .isPresent();
  }
}
