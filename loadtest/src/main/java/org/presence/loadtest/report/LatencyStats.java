package org.presence.loadtest.report;

import org.HdrHistogram.Histogram;

/**
 * Percentiles of one latency metric, in milliseconds; {@code summary.json} says so in each entry's
 * {@code unit}.
 *
 * @param count values recorded
 * @param mean mean
 * @param min minimum
 * @param p50 median
 * @param p90 90th percentile
 * @param p99 99th percentile
 * @param p999 99.9th percentile
 * @param max maximum
 * @param unit the unit of every figure but {@code count}: {@value #UNIT}
 */
public record LatencyStats(
    long count,
    double mean,
    double min,
    double p50,
    double p90,
    double p99,
    double p999,
    double max,
    String unit) {

  /** The unit of the figures. */
  public static final String UNIT = "ms";

  /** The figures of {@code h} (microseconds) in milliseconds. */
  public static LatencyStats of(Histogram h) {
    if (h.getTotalCount() == 0) {
      return new LatencyStats(0, 0, 0, 0, 0, 0, 0, 0, UNIT);
    }
    return new LatencyStats(
        h.getTotalCount(),
        h.getMean() / 1000.0,
        h.getMinValue() / 1000.0,
        h.getValueAtPercentile(50) / 1000.0,
        h.getValueAtPercentile(90) / 1000.0,
        h.getValueAtPercentile(99) / 1000.0,
        h.getValueAtPercentile(99.9) / 1000.0,
        h.getMaxValue() / 1000.0,
        UNIT);
  }

  /** The statistic named {@code name} (p50, p90, p99, p999, max, min, mean, count). */
  public double get(String name) {
    return switch (name) {
      case "p50" -> p50;
      case "p90" -> p90;
      case "p99" -> p99;
      case "p999" -> p999;
      case "max" -> max;
      case "min" -> min;
      case "mean" -> mean;
      case "count" -> count;
      default -> throw new IllegalArgumentException("unknown statistic " + name);
    };
  }
}
