package org.presence.loadtest.metrics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * Interval samples of every injector merged per second of wall-clock time: counters and errors add
 * up, histograms are added ({@link Histogram#add}, which is exact for HdrHistogram), and open
 * connections are the sum of each injector's latest figure. The live console, the summary and the
 * HTML report all read from one timeline, whether the samples came from this process or from
 * injector processes.
 */
public final class Timeline {
  /** One merged second. */
  public static final class Point {
    private final long second;
    private final Map<Integer, Long> activeByInjector = new HashMap<>();
    private final Map<String, Long> counters = new TreeMap<>();
    private final Map<String, Long> errors = new TreeMap<>();
    private final Map<String, Histogram> histograms = new TreeMap<>();
    private long active;

    Point(long second) {
      this.second = second;
    }

    /** Epoch second at the end of the interval. */
    public long second() {
      return second;
    }

    /** Connections open at the end of this second, all injectors. */
    public long active() {
      return active;
    }

    /** Counter increments in this second. */
    public Map<String, Long> counters() {
      return counters;
    }

    /** The increment of {@code counter}, 0 when absent. */
    public long counter(String counter) {
      return counters.getOrDefault(counter, 0L);
    }

    /** Errors in this second, by kind. */
    public Map<String, Long> errors() {
      return errors;
    }

    /** Errors of every kind in this second. */
    public long errorCount() {
      return errors.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Latencies in this second, by metric. */
    public Map<String, Histogram> histograms() {
      return histograms;
    }
  }

  /** Everything in the timeline, added up. */
  public record Totals(
      long firstSecond,
      long lastSecond,
      long peakActive,
      long lastActive,
      Map<String, Long> counters,
      Map<String, Long> errors,
      Map<String, Histogram> histograms) {

    /** Seconds covered (at least 1). */
    public long seconds() {
      return Math.max(1, lastSecond - firstSecond + 1);
    }

    /** The total of {@code counter}, 0 when absent. */
    public long counter(String counter) {
      return counters.getOrDefault(counter, 0L);
    }

    /** Errors of every kind. */
    public long errorCount() {
      return errors.values().stream().mapToLong(Long::longValue).sum();
    }
  }

  private final NavigableMap<Long, Point> points = new TreeMap<>();

  /** The second a sample belongs to: the whole second nearest its end. */
  static long secondOf(IntervalSample s) {
    return Math.round(s.endMillis() / 1000.0);
  }

  /** Merges one sample. */
  public synchronized void add(IntervalSample s) {
    Point p = points.computeIfAbsent(secondOf(s), Point::new);
    p.activeByInjector.merge(s.injector(), s.active(), (a, b) -> b);
    s.counters().forEach((k, v) -> p.counters.merge(k, v, Long::sum));
    s.errors().forEach((k, v) -> p.errors.merge(k, v, Long::sum));
    s.histograms()
        .forEach((k, h) -> p.histograms.computeIfAbsent(k, x -> Metrics.newHistogram()).add(h));
    recomputeActive();
  }

  private void recomputeActive() {
    Map<Integer, Long> latest = new HashMap<>();
    for (Point p : points.values()) {
      latest.putAll(p.activeByInjector);
      p.active = latest.values().stream().mapToLong(Long::longValue).sum();
    }
  }

  /** The merged seconds, oldest first (a snapshot). */
  public synchronized List<Point> points() {
    return new ArrayList<>(points.values());
  }

  /** Whether nothing was added. */
  public synchronized boolean isEmpty() {
    return points.isEmpty();
  }

  /** The last {@code n} seconds added up (for the live console line). */
  public synchronized Totals lastSeconds(int n) {
    List<Point> all = new ArrayList<>(points.values());
    return sum(all.subList(Math.max(0, all.size() - n), all.size()));
  }

  /** The whole run added up. */
  public synchronized Totals totals() {
    return sum(new ArrayList<>(points.values()));
  }

  private static Totals sum(List<Point> list) {
    Map<String, Long> counters = new TreeMap<>();
    Map<String, Long> errors = new TreeMap<>();
    Map<String, Histogram> histograms = new TreeMap<>();
    long peak = 0;
    for (Point p : list) {
      p.counters.forEach((k, v) -> counters.merge(k, v, Long::sum));
      p.errors.forEach((k, v) -> errors.merge(k, v, Long::sum));
      p.histograms.forEach(
          (k, h) -> histograms.computeIfAbsent(k, x -> Metrics.newHistogram()).add(h));
      peak = Math.max(peak, p.active);
    }
    long first = list.isEmpty() ? 0 : list.get(0).second;
    long last = list.isEmpty() ? 0 : list.get(list.size() - 1).second;
    long lastActive = list.isEmpty() ? 0 : list.get(list.size() - 1).active;
    return new Totals(first, last, peak, lastActive, counters, errors, histograms);
  }
}
