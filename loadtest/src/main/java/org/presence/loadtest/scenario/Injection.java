package org.presence.loadtest.scenario;

import java.time.Duration;

/**
 * One step of an open injection profile, in Gatling's terms: how many virtual users start and when,
 * relative to the step's own start. Steps of a {@link Population} run one after another.
 */
public sealed interface Injection
    permits Injection.AtOnce,
        Injection.Ramp,
        Injection.ConstantRate,
        Injection.Stairs,
        Injection.NothingFor {

  /** Users this step starts. */
  long users();

  /** How long the step lasts. */
  Duration duration();

  /** When user {@code i} (0 ≤ i &lt; users) of this step starts, in nanoseconds from its start. */
  long offsetNanos(long i);

  /** {@code users} users at once. */
  record AtOnce(long users) implements Injection {
    /** Validates. */
    public AtOnce {
      requireNonNegative(users, "users");
    }

    @Override
    public Duration duration() {
      return Duration.ZERO;
    }

    @Override
    public long offsetNanos(long i) {
      return 0;
    }
  }

  /** {@code users} users started evenly over {@code duration}. */
  record Ramp(long users, Duration duration) implements Injection {
    /** Validates. */
    public Ramp {
      requireNonNegative(users, "users");
      requirePositive(duration);
    }

    @Override
    public long offsetNanos(long i) {
      return (long) ((double) duration.toNanos() * i / users);
    }
  }

  /** {@code perSecond} users a second for {@code duration}: an arrival rate. */
  record ConstantRate(double perSecond, Duration duration) implements Injection {
    /** Validates. */
    public ConstantRate {
      if (!(perSecond > 0)) {
        throw new IllegalArgumentException("rate must be positive: " + perSecond);
      }
      requirePositive(duration);
    }

    @Override
    public long users() {
      return (long) Math.floor(perSecond * duration.toNanos() / 1e9);
    }

    @Override
    public long offsetNanos(long i) {
      return (long) (i * 1e9 / perSecond);
    }
  }

  /**
   * Stairs: {@code levels} levels, each adding {@code usersPerLevel} users (ramped over {@code
   * rampTime}) and then holding for the rest of {@code levelTime}, so a load can be read at each
   * level.
   */
  record Stairs(long usersPerLevel, int levels, Duration levelTime, Duration rampTime)
      implements Injection {
    /** Validates. */
    public Stairs {
      requireNonNegative(usersPerLevel, "usersPerLevel");
      if (levels <= 0) {
        throw new IllegalArgumentException("levels must be positive: " + levels);
      }
      requirePositive(levelTime);
      if (rampTime.isNegative() || rampTime.compareTo(levelTime) > 0) {
        throw new IllegalArgumentException("ramp time must be within the level time");
      }
    }

    @Override
    public long users() {
      return usersPerLevel * levels;
    }

    @Override
    public Duration duration() {
      return levelTime.multipliedBy(levels);
    }

    @Override
    public long offsetNanos(long i) {
      long level = i / usersPerLevel;
      long within = i % usersPerLevel;
      return level * levelTime.toNanos()
          + (long) ((double) rampTime.toNanos() * within / usersPerLevel);
    }
  }

  /** No users for {@code duration}: a gap between steps. */
  record NothingFor(Duration duration) implements Injection {
    /** Validates. */
    public NothingFor {
      if (duration.isNegative()) {
        throw new IllegalArgumentException("duration must not be negative");
      }
    }

    @Override
    public long users() {
      return 0;
    }

    @Override
    public long offsetNanos(long i) {
      throw new IndexOutOfBoundsException("no users");
    }
  }

  private static void requireNonNegative(long n, String what) {
    if (n < 0) {
      throw new IllegalArgumentException(what + " must not be negative: " + n);
    }
  }

  private static void requirePositive(Duration d) {
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException("duration must be positive: " + d);
    }
  }
}
