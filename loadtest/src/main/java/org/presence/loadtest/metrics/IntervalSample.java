package org.presence.loadtest.metrics;

import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * What one injector recorded in one interval (normally a second): open connections at its end,
 * counter and error deltas, and a latency histogram per metric. Injector processes send these to
 * the coordinator as JSON lines ({@link SampleCodec}); the {@link Timeline} merges them.
 *
 * @param injector the injector's number, 0 for a single-process run
 * @param startMillis start of the interval, epoch milliseconds
 * @param endMillis end of the interval, epoch milliseconds
 * @param active connections open at the end
 * @param counters counter increments in the interval
 * @param errors errors in the interval, by kind
 * @param histograms latencies in the interval, microseconds, by metric
 */
public record IntervalSample(
    int injector,
    long startMillis,
    long endMillis,
    long active,
    Map<String, Long> counters,
    Map<String, Long> errors,
    Map<String, Histogram> histograms) {

  /** Every counter and error total. */
  public IntervalSample {
    counters = Map.copyOf(counters);
    errors = Map.copyOf(errors);
    histograms = Map.copyOf(histograms);
  }

  /** The increment of {@code counter}, 0 when absent. */
  public long counter(String counter) {
    return counters.getOrDefault(counter, 0L);
  }
}
