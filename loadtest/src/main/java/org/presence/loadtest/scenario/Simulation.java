package org.presence.loadtest.scenario;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A complete load test: populations that start together, the longest it may run, when to read the
 * server's memory, and default assertions (more come from the command line).
 *
 * @param name the name in reports
 * @param description one line for {@code loadtest list}
 * @param populations the populations, all starting at the run's start
 * @param maxDuration the run stops then, whatever users are doing
 * @param probeAt when to read the server's memory under load (after a full GC), if at all
 * @param assertions assertion expressions checked at the end (see report.Assertion)
 */
public record Simulation(
    String name,
    String description,
    List<Population> populations,
    Duration maxDuration,
    Optional<Duration> probeAt,
    List<String> assertions) {

  /** Copies lists. */
  public Simulation {
    populations = List.copyOf(populations);
    assertions = List.copyOf(assertions);
  }

  /** A builder; {@link Dsl#simulation} is the usual way in. */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /** The channels the populations use. */
  public Set<Action.Channel> requires() {
    Set<Action.Channel> out = EnumSet.noneOf(Action.Channel.class);
    populations.forEach(p -> out.addAll(p.requires()));
    return out;
  }

  /** Users over all device populations. */
  public long deviceUsers() {
    return populations.stream()
        .filter(p -> p.role() == Population.Role.DEVICES)
        .mapToLong(p -> p.profile().users())
        .sum();
  }

  /** Users over all populations. */
  public long users() {
    return populations.stream().mapToLong(p -> p.profile().users()).sum();
  }

  /** When the last user starts. */
  public Duration injectionDuration() {
    return populations.stream()
        .map(p -> p.profile().duration())
        .max(Duration::compareTo)
        .orElse(Duration.ZERO);
  }

  /** Builds a {@link Simulation}. */
  public static final class Builder {
    private final String name;
    private String description = "";
    private final List<Population> populations = new ArrayList<>();
    private Duration maxDuration = Duration.ofMinutes(1);
    private Duration probeAt;
    private final List<String> assertions = new ArrayList<>();

    Builder(String name) {
      this.name = name;
    }

    /** One line describing the simulation. */
    public Builder description(String text) {
      this.description = text;
      return this;
    }

    /** Adds a population. */
    public Builder population(Population p) {
      populations.add(p);
      return this;
    }

    /** The run stops after {@code d}. */
    public Builder maxDuration(Duration d) {
      this.maxDuration = d;
      return this;
    }

    /** Reads the server's memory {@code d} after the start. */
    public Builder probeAt(Duration d) {
      this.probeAt = d;
      return this;
    }

    /** Adds an assertion expression, such as {@code p99(connect) < 50ms}. */
    public Builder assertion(String expression) {
      assertions.add(expression);
      return this;
    }

    /** The simulation. */
    public Simulation build() {
      if (populations.isEmpty()) {
        throw new IllegalStateException("a simulation needs at least one population");
      }
      return new Simulation(
          name, description, populations, maxDuration, Optional.ofNullable(probeAt), assertions);
    }
  }
}
