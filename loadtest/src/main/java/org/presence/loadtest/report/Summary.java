package org.presence.loadtest.report;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;
import org.presence.loadtest.metrics.Metrics;
import org.presence.loadtest.metrics.Timeline;

/**
 * The figures of one run, written as {@code summary.json} and shown at the top of the HTML report;
 * {@link Assertion}s are checked against it.
 *
 * @param run what ran, where and how
 * @param seconds seconds the run's timeline covers
 * @param peakActive most connections open at once
 * @param latencies latency percentiles by metric (ms)
 * @param counters counter totals
 * @param rates counter totals per second of the run
 * @param peakRates the busiest second of each counter
 * @param errors errors by kind
 * @param errorPercent errors as a percentage of operations (sessions opened, frames and requests
 *     sent, and errors themselves)
 * @param probe the server's memory per connection, when read
 * @param assertions the assertions and whether each held
 */
public record Summary(
    RunInfo run,
    long seconds,
    long peakActive,
    Map<String, LatencyStats> latencies,
    Map<String, Long> counters,
    Map<String, Double> rates,
    Map<String, Long> peakRates,
    Map<String, Long> errors,
    double errorPercent,
    ProbeResult probe,
    List<Assertion.Result> assertions) {

  /**
   * What ran.
   *
   * @param scenario the scenario's name
   * @param target floor or presence
   * @param url the target's base URL
   * @param started start time, ISO-8601
   * @param injectors injector processes
   * @param command the command line
   * @param machine host, cores, OS
   * @param jdk the JDK
   * @param stopped why the run ended before its planned end (a signal), or null when it did not
   * @param slice {@code K/N} when the run was slice K of N machines' runs ({@code --slice}), or
   *     null
   */
  public record RunInfo(
      String scenario,
      String target,
      String url,
      String started,
      int injectors,
      String command,
      String machine,
      String jdk,
      String stopped,
      String slice) {

    /** A run that is not one of several machines' slices. */
    public RunInfo(
        String scenario,
        String target,
        String url,
        String started,
        int injectors,
        String command,
        String machine,
        String jdk,
        String stopped) {
      this(scenario, target, url, started, injectors, command, machine, jdk, stopped, null);
    }

    /** A run that went to its planned end. */
    public RunInfo(
        String scenario,
        String target,
        String url,
        String started,
        int injectors,
        String command,
        String machine,
        String jdk) {
      this(scenario, target, url, started, injectors, command, machine, jdk, null, null);
    }
  }

  /** The summary of {@code timeline}, without assertions. */
  public static Summary of(RunInfo run, Timeline timeline, ProbeResult probe) {
    Timeline.Totals t = timeline.totals();
    Map<String, LatencyStats> lat = new TreeMap<>();
    for (Map.Entry<String, Histogram> e : t.histograms().entrySet()) {
      lat.put(e.getKey(), LatencyStats.of(e.getValue()));
    }
    long seconds = t.seconds();
    Map<String, Double> rates = new TreeMap<>();
    t.counters().forEach((k, v) -> rates.put(k, v / (double) seconds));
    Map<String, Long> peaks = new TreeMap<>();
    for (Timeline.Point p : timeline.points()) {
      p.counters().forEach((k, v) -> peaks.merge(k, v, Math::max));
    }
    long ops = t.counter(Metrics.OPENED) + t.counter(Metrics.SENT) + t.errorCount();
    double errorPercent = ops == 0 ? 0 : 100.0 * t.errorCount() / ops;
    return new Summary(
        run,
        seconds,
        t.peakActive(),
        lat,
        t.counters(),
        rates,
        peaks,
        t.errors(),
        errorPercent,
        probe,
        List.of());
  }

  /** This summary with assertion results. */
  public Summary withAssertions(List<Assertion.Result> results) {
    return new Summary(
        run,
        seconds,
        peakActive,
        latencies,
        counters,
        rates,
        peakRates,
        errors,
        errorPercent,
        probe,
        List.copyOf(results));
  }

  /** Whether every assertion held. */
  public boolean passed() {
    return assertions.stream().allMatch(Assertion.Result::passed);
  }
}
