package org.presence.loadtest.scenario;

import static org.presence.loadtest.scenario.Dsl.atOnce;
import static org.presence.loadtest.scenario.Dsl.chain;
import static org.presence.loadtest.scenario.Dsl.constantUsersPerSec;
import static org.presence.loadtest.scenario.Dsl.nothingFor;
import static org.presence.loadtest.scenario.Dsl.rampUsers;
import static org.presence.loadtest.scenario.Dsl.scenario;
import static org.presence.loadtest.scenario.Dsl.simulation;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;

/**
 * The built-in scenarios, written once against the target's channels so that each runs against the
 * floor and against Presence alike (a scenario whose channel a target lacks is refused before it
 * starts):
 *
 * <ul>
 *   <li>{@code idle-density}: N devices connect over a ramp and hold idle; the server's memory is
 *       read after a full GC half-way through the hold.
 *   <li>{@code connect-storm}: devices arrive at a rate (or all at once) and disconnect at once:
 *       sessions per second and connect time.
 *   <li>{@code churn}: devices connect, then reconnect again and again at random intervals.
 *   <li>{@code status-fanout}: apps subscribe; devices send stamped status changes at an interval;
 *       updates delivered per second and device-to-app latency.
 *   <li>{@code notify}: devices connect and hold; apps post stamped notification batches;
 *       POST-to-device latency.
 *   <li>{@code soak}: mixed load for a long time: idle holders, status senders, churners, apps, and
 *       notification posters where the target has them.
 * </ul>
 */
public final class Scenarios {
  private static final Duration START_GAP = Duration.ofSeconds(1);

  private record Entry(String description, Function<ScenarioParams, Simulation> build) {}

  private static final Map<String, Entry> CATALOG = new LinkedHashMap<>();

  static {
    CATALOG.put(
        "idle-density",
        new Entry(
            "N idle device sockets; server heap, direct memory and RSS per socket",
            Scenarios::idleDensity));
    CATALOG.put(
        "connect-storm",
        new Entry(
            "devices arrive at a rate and leave at once; sessions/s, connect time",
            Scenarios::connectStorm));
    CATALOG.put(
        "churn",
        new Entry("devices reconnect again and again at random intervals", Scenarios::churn));
    CATALOG.put(
        "status-fanout",
        new Entry(
            "devices send status changes, apps receive them; updates/s, device-to-app latency",
            Scenarios::statusFanout));
    CATALOG.put(
        "notify",
        new Entry(
            "apps post notification batches to connected devices; notifications/s, POST-to-device latency",
            Scenarios::notifyScenario));
    CATALOG.put(
        "soak",
        new Entry(
            "mixed load for a long time (idle, status, churn, apps, notifications)",
            Scenarios::soak));
  }

  private Scenarios() {}

  /** Names and descriptions, in catalog order. */
  public static Map<String, String> list() {
    Map<String, String> out = new LinkedHashMap<>();
    CATALOG.forEach((k, v) -> out.put(k, v.description()));
    return out;
  }

  /** The simulation named {@code name} with {@code params}, or empty for an unknown name. */
  public static Optional<Simulation> build(String name, ScenarioParams params) {
    Entry e = CATALOG.get(name);
    return e == null ? Optional.empty() : Optional.of(e.build().apply(params));
  }

  static Simulation idleDensity(ScenarioParams p) {
    long users = p.usersOr(1000);
    Duration ramp = p.rampOr(Duration.ofSeconds(10));
    Duration hold = p.holdOr(Duration.ofSeconds(20));
    return simulation("idle-density")
        .description("idle devices held; memory per socket")
        .population(
            scenario("idle devices")
                .connect()
                .holdUntilEnd()
                .disconnect()
                .inject(rampUsers(users).during(ramp)))
        .probeAt(ramp.plus(hold.dividedBy(2)))
        .maxDuration(ramp.plus(hold))
        .build();
  }

  static Simulation connectStorm(ScenarioParams p) {
    if (p.rate() != null && p.users() != null) {
      throw new IllegalArgumentException(
          "connect-storm takes --rate (users arrive at that rate for -d) or -u (all at once),"
              + " not both");
    }
    Duration duration = p.durationOr(Duration.ofSeconds(10));
    Injection injection =
        p.rate() != null ? constantUsersPerSec(p.rate()).during(duration) : atOnce(p.usersOr(1000));
    return simulation("connect-storm")
        .description("devices connect and leave; sessions per second")
        .population(scenario("storming devices").connect().disconnect().inject(injection))
        .maxDuration(duration.plus(Duration.ofSeconds(15)))
        .build();
  }

  static Simulation churn(ScenarioParams p) {
    long users = p.usersOr(500);
    Duration ramp = p.rampOr(Duration.ofSeconds(5));
    Duration duration = p.durationOr(Duration.ofSeconds(20));
    Duration interval = p.intervalOr(Duration.ofSeconds(1));
    return simulation("churn")
        .description("devices connect and disconnect in cycles")
        .population(
            scenario("churning devices")
                .connect()
                .during(
                    duration, chain().pause(Duration.ZERO, interval.multipliedBy(2)).reconnect())
                .disconnect()
                .inject(rampUsers(users).during(ramp)))
        .maxDuration(ramp.plus(duration).plus(Duration.ofSeconds(10)))
        .build();
  }

  static Simulation statusFanout(ScenarioParams p) {
    long users = p.usersOr(1000);
    int apps = p.appsOr(10);
    Duration ramp = p.rampOr(Duration.ofSeconds(5));
    Duration duration = p.durationOr(Duration.ofSeconds(20));
    Duration interval = p.intervalOr(Duration.ofMillis(100));
    return simulation("status-fanout")
        .description("status changes fanned out to apps; updates per second and latency")
        .population(
            scenario("apps")
                .subscribe()
                .holdUntilEnd()
                .disconnect()
                .asApps()
                .inject(atOnce(apps))
                .inBackground())
        .population(
            scenario("status devices")
                .connect()
                // A random first pause spreads the senders evenly over one interval.
                .pause(Duration.ZERO, interval)
                .during(duration, chain().sendStatusFlip().pause(interval))
                .disconnect()
                .inject(nothingFor(START_GAP), rampUsers(users).during(ramp)))
        .maxDuration(START_GAP.plus(ramp).plus(duration).plus(Duration.ofSeconds(10)))
        .build();
  }

  static Simulation notifyScenario(ScenarioParams p) {
    long users = p.usersOr(1000);
    int apps = p.appsOr(10);
    int batch = p.batchOr(10);
    Duration ramp = p.rampOr(Duration.ofSeconds(5));
    Duration duration = p.durationOr(Duration.ofSeconds(20));
    Duration interval = p.intervalOr(Duration.ofMillis(100));
    return simulation("notify")
        .description("notification batches posted to connected devices; latency POST to device")
        .population(
            scenario("receiving devices")
                .connect()
                .holdUntilEnd()
                .disconnect()
                .inject(rampUsers(users).during(ramp))
                .inBackground())
        .population(
            scenario("posting apps")
                .during(duration, chain().post(recipients(users, apps, batch)).pause(interval))
                .asApps()
                .inject(nothingFor(ramp.plus(START_GAP)), atOnce(apps)))
        .maxDuration(ramp.plus(START_GAP).plus(duration).plus(Duration.ofSeconds(10)))
        .build();
  }

  /** {@code batch} random device users of the posting app (users u with u % apps == app). */
  static Function<VirtualUser, List<Long>> recipients(long users, int apps, int batch) {
    return u -> {
      int app = u.appIndex();
      long perApp = Math.max(1, (users - app + apps - 1) / apps);
      List<Long> out = new ArrayList<>(batch);
      for (int i = 0; i < batch; i++) {
        out.add(ThreadLocalRandom.current().nextLong(perApp) * apps + app);
      }
      return out;
    };
  }

  static Simulation soak(ScenarioParams p) {
    long users = p.usersOr(2000);
    int apps = p.appsOr(10);
    Duration ramp = p.rampOr(Duration.ofSeconds(30));
    Duration duration = p.durationOr(Duration.ofHours(2));
    Duration interval = p.intervalOr(Duration.ofSeconds(5));
    long idle = users * 7 / 10;
    long senders = users * 2 / 10;
    long churners = users - idle - senders;
    Duration end = START_GAP.plus(ramp).plus(duration);
    Simulation.Builder b =
        simulation("soak")
            .description("hours of mixed load")
            .population(
                scenario("soak apps")
                    .subscribe()
                    .holdUntilEnd()
                    .disconnect()
                    .asApps()
                    .inject(atOnce(apps)))
            .population(
                scenario("soak idle")
                    .connect()
                    .holdUntilEnd()
                    .disconnect()
                    .inject(nothingFor(START_GAP), rampUsers(idle).during(ramp)))
            .population(
                scenario("soak senders")
                    .connect()
                    .pause(Duration.ZERO, interval)
                    .during(duration, chain().sendStatusFlip().pause(interval))
                    .disconnect()
                    .inject(nothingFor(START_GAP), rampUsers(senders).during(ramp)))
            .population(
                scenario("soak churners")
                    .connect()
                    .during(
                        duration,
                        chain().pause(Duration.ZERO, interval.multipliedBy(4)).reconnect())
                    .disconnect()
                    .inject(nothingFor(START_GAP), rampUsers(churners).during(ramp)))
            .maxDuration(end.plus(Duration.ofSeconds(10)));
    if (p.batch() != null && p.batch() > 0) {
      b.population(
          scenario("soak posters")
              .during(duration, chain().post(recipients(idle, apps, p.batch())).pause(interval))
              .asApps()
              .inject(nothingFor(START_GAP.plus(ramp)), atOnce(apps)));
    }
    return b.build();
  }
}
