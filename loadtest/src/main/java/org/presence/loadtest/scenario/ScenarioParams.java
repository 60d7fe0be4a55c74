package org.presence.loadtest.scenario;

import java.time.Duration;

/**
 * The knobs of the built-in scenarios; each scenario reads the ones it needs (see {@link
 * Scenarios}). Null fields mean the scenario's default.
 *
 * @param users device users
 * @param apps app connections (each device reports to app {@code user % apps})
 * @param ramp time over which users start
 * @param rate arrival rate, users a second (connect-storm)
 * @param duration how long the load lasts after the ramp
 * @param interval time between one user's sends (status-fanout, churn, notify, soak)
 * @param hold how long idle connections are held after the ramp (idle-density)
 * @param batch notifications per POST (notify)
 */
public record ScenarioParams(
    Long users,
    Integer apps,
    Duration ramp,
    Double rate,
    Duration duration,
    Duration interval,
    Duration hold,
    Integer batch) {

  /** Refuses values no scenario can run with, naming the option as the command line spells it. */
  public ScenarioParams {
    if (users != null && users < 1) {
      throw new IllegalArgumentException("-u/--users must be at least 1, not " + users);
    }
    if (apps != null && apps < 1) {
      throw new IllegalArgumentException("--apps must be at least 1, not " + apps);
    }
    if (rate != null && !(rate > 0)) {
      throw new IllegalArgumentException("--rate must be more than 0, not " + rate);
    }
    if (batch != null && batch < 1) {
      throw new IllegalArgumentException("--batch must be at least 1, not " + batch);
    }
    positive(ramp, "--ramp");
    notNegative(hold, "--hold");
    positive(duration, "-d/--duration");
    positive(interval, "--interval");
  }

  private static void notNegative(Duration d, String option) {
    if (d != null && d.isNegative()) {
      throw new IllegalArgumentException(option + " must not be negative, not " + text(d));
    }
  }

  private static void positive(Duration d, String option) {
    if (d != null && (d.isNegative() || d.isZero())) {
      throw new IllegalArgumentException(option + " must be more than 0, not " + text(d));
    }
  }

  /** A duration as the command line writes it: 1500ms, -1s. */
  private static String text(Duration d) {
    long ms = d.toMillis();
    return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
  }

  /** Every field at the scenario's default. */
  public static ScenarioParams defaults() {
    return new ScenarioParams(null, null, null, null, null, null, null, null);
  }

  long usersOr(long d) {
    return users == null ? d : users;
  }

  int appsOr(int d) {
    return apps == null ? d : apps;
  }

  Duration rampOr(Duration d) {
    return ramp == null ? d : ramp;
  }

  double rateOr(double d) {
    return rate == null ? d : rate;
  }

  Duration durationOr(Duration d) {
    return duration == null ? d : duration;
  }

  Duration intervalOr(Duration d) {
    return interval == null ? d : interval;
  }

  Duration holdOr(Duration d) {
    return hold == null ? d : hold;
  }

  int batchOr(int d) {
    return batch == null ? d : batch;
  }
}
