package org.presence.loadtest.report;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import org.HdrHistogram.Histogram;
import org.presence.loadtest.metrics.Metrics;
import org.presence.loadtest.metrics.Timeline;

/**
 * The live console line, printed every few seconds while a run goes on:
 *
 * <pre>
 * [  20s] open 10000 | opened/s 1000 sent/s 9800 recv/s 9790 | errors 2 (errno 34: 2) | connect p50 1.2 p99 8.0 ms | update p50 0.8 p99 4.1 ms
 * </pre>
 *
 * Rates, errors and percentiles are over the seconds since the previous line.
 */
public final class ConsoleReporter {
  private static final List<String> ORDER =
      List.of(
          Metrics.CONNECT,
          Metrics.SUBSCRIBE,
          Metrics.ACK,
          Metrics.UPDATE,
          Metrics.NOTIFY,
          Metrics.POST);

  private final PrintWriter out;

  /** Prints to {@code out}. */
  public ConsoleReporter(PrintWriter out) {
    this.out = out;
  }

  /**
   * Prints the line for the last {@code seconds} of {@code timeline}, {@code elapsed} seconds in.
   */
  public void print(Timeline timeline, int seconds, long elapsed) {
    out.println(line(timeline.lastSeconds(seconds), seconds, elapsed));
    out.flush();
  }

  /** The line for {@code window} ({@code seconds} long), {@code elapsed} seconds into the run. */
  public static String line(Timeline.Totals window, int seconds, long elapsed) {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "[%5ds] open %d", elapsed, window.lastActive()));
    b.append(" | opened/s ").append(rate(window.counter(Metrics.OPENED), seconds));
    b.append(" sent/s ").append(rate(window.counter(Metrics.SENT), seconds));
    b.append(" recv/s ").append(rate(window.counter(Metrics.RECEIVED), seconds));
    long errors = window.errorCount();
    b.append(" | errors ").append(errors);
    if (errors > 0) {
      b.append(" (")
          .append(
              window.errors().entrySet().stream()
                  .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                  .limit(3)
                  .map(e -> e.getKey() + ": " + e.getValue())
                  .collect(Collectors.joining(", ")))
          .append(')');
    }
    for (String m : ORDER) {
      Histogram h = window.histograms().get(m);
      if (h != null && h.getTotalCount() > 0) {
        b.append(
            String.format(
                Locale.ROOT,
                " | %s p50 %.1f p99 %.1f ms",
                m,
                h.getValueAtPercentile(50) / 1000.0,
                h.getValueAtPercentile(99) / 1000.0));
      }
    }
    return b.toString();
  }

  private static String rate(long n, int seconds) {
    return Long.toString(Math.round(n / (double) Math.max(1, seconds)));
  }
}
