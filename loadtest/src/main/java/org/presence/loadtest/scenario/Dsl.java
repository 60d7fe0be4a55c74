package org.presence.loadtest.scenario;

import java.time.Duration;
import java.util.List;

/**
 * The scenario DSL's entry points, for a static import, in the manner of Gatling's {@code CoreDsl}:
 *
 * <pre>{@code
 * ScenarioBuilder apps = scenario("apps").subscribe().holdUntilEnd();
 * ScenarioBuilder devices =
 *     scenario("devices")
 *         .connect()
 *         .during(Duration.ofSeconds(20), chain().sendStatusFlip().pause(Duration.ofMillis(100)))
 *         .disconnect();
 * Simulation s =
 *     simulation("status-fanout")
 *         .population(apps.asApps().inject(atOnce(10)))
 *         .population(devices.inject(nothingFor(Duration.ofSeconds(1)), rampUsers(1000).during(Duration.ofSeconds(5))))
 *         .maxDuration(Duration.ofSeconds(30))
 *         .build();
 * }</pre>
 */
public final class Dsl {
  private Dsl() {}

  /** A named scenario of device users. */
  public static ScenarioBuilder scenario(String name) {
    return new ScenarioBuilder(name, Population.Role.DEVICES, List.of());
  }

  /** An empty chain, for loop bodies. */
  public static ChainBuilder chain() {
    return new ChainBuilder(List.of());
  }

  /** A simulation: populations, a maximum duration, assertions. */
  public static Simulation.Builder simulation(String name) {
    return Simulation.builder(name);
  }

  /** {@code users} users at once. */
  public static Injection atOnce(long users) {
    return new Injection.AtOnce(users);
  }

  /** {@code users} users started evenly over a duration: {@code rampUsers(n).during(d)}. */
  public static RampTo rampUsers(long users) {
    return new RampTo(users);
  }

  /** {@code perSecond} users a second: {@code constantUsersPerSec(r).during(d)}. */
  public static RateFor constantUsersPerSec(double perSecond) {
    return new RateFor(perSecond);
  }

  /**
   * Stairs of {@code usersPerLevel} added per level: {@code
   * incrementUsers(n).times(k).eachLevelLasting(d).rampingOver(r)}.
   */
  public static StairsOf incrementUsers(long usersPerLevel) {
    return new StairsOf(usersPerLevel, 1, Duration.ofSeconds(1), Duration.ZERO);
  }

  /** No users for {@code d}. */
  public static Injection nothingFor(Duration d) {
    return new Injection.NothingFor(d);
  }

  /** The second half of {@link #rampUsers}. */
  public record RampTo(long users) {
    /** Over {@code d}. */
    public Injection during(Duration d) {
      return new Injection.Ramp(users, d);
    }
  }

  /** The second half of {@link #constantUsersPerSec}. */
  public record RateFor(double perSecond) {
    /** For {@code d}. */
    public Injection during(Duration d) {
      return new Injection.ConstantRate(perSecond, d);
    }
  }

  /**
   * The builder {@link #incrementUsers} starts; it is itself not an injection until {@link #build}.
   */
  public record StairsOf(long usersPerLevel, int levels, Duration levelTime, Duration rampTime) {
    /** {@code n} levels. */
    public StairsOf times(int n) {
      return new StairsOf(usersPerLevel, n, levelTime, rampTime);
    }

    /** Each level lasts {@code d}. */
    public StairsOf eachLevelLasting(Duration d) {
      return new StairsOf(usersPerLevel, levels, d, rampTime);
    }

    /** Each level's users start over {@code d} (at once by default). */
    public StairsOf rampingOver(Duration d) {
      return new StairsOf(usersPerLevel, levels, levelTime, d);
    }

    /** The injection step. */
    public Injection build() {
      return new Injection.Stairs(usersPerLevel, levels, levelTime, rampTime);
    }
  }

  /** {@code 1500ms}, {@code 2s}, {@code 3m}, {@code 1h} as a short text. */
  public static String format(Duration d) {
    long ms = d.toMillis();
    if (ms % 3_600_000 == 0 && ms > 0) {
      return ms / 3_600_000 + "h";
    }
    if (ms % 60_000 == 0 && ms > 0) {
      return ms / 60_000 + "m";
    }
    if (ms % 1000 == 0) {
      return ms / 1000 + "s";
    }
    return ms + "ms";
  }

  /** Parses {@code 250ms}, {@code 10s}, {@code 5m}, {@code 2h} or a plain number of seconds. */
  public static Duration parseDuration(String text) {
    String t = text.trim().toLowerCase(java.util.Locale.ROOT);
    try {
      if (t.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2).trim()));
      }
      if (t.endsWith("s")) {
        return Duration.ofMillis(
            Math.round(Double.parseDouble(t.substring(0, t.length() - 1).trim()) * 1000));
      }
      if (t.endsWith("m")) {
        return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1).trim()) * 60);
      }
      if (t.endsWith("h")) {
        return Duration.ofHours(Long.parseLong(t.substring(0, t.length() - 1).trim()));
      }
      return Duration.ofMillis(Math.round(Double.parseDouble(t) * 1000));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("not a duration: " + text + " (try 500ms, 10s, 5m, 1h)");
    }
  }
}
