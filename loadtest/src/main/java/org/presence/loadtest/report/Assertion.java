package org.presence.loadtest.report;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.presence.loadtest.metrics.Metrics;

/**
 * A condition on a run's {@link Summary} that decides the exit status, written as text:
 *
 * <ul>
 *   <li>{@code p99(ack) < 5ms}: a latency statistic ({@code p50 p90 p99 p999 max min mean}) of a
 *       metric, in {@code us}, {@code ms} (the default) or {@code s};
 *   <li>{@code count(connect) >= 1000}: values recorded for a latency metric, or a counter's total;
 *   <li>{@code rate(delivered) > 10000}: a counter per second of the run;
 *   <li>{@code errors < 1%}: errors as a percentage of operations; {@code errors == 0} counts them.
 * </ul>
 *
 * Operators: {@code < <= > >= ==}. A metric that was never recorded has count 0 and fails any
 * latency bound, so an assertion cannot pass by accident on a run that did nothing.
 *
 * @param text the expression as written
 */
public record Assertion(String text) {
  private static final Pattern FORM =
      Pattern.compile(
          "\\s*(?:(p50|p90|p99|p999|max|min|mean|count|rate)\\(([\\w.-]+)\\)|(errors))\\s*"
              + "(<=|>=|==|<|>)\\s*([0-9]+(?:\\.[0-9]+)?)\\s*(us|ms|s|%)?\\s*");

  /** The outcome of one assertion. */
  public record Result(String assertion, boolean passed, double actual, String detail) {}

  /** Parses and validates {@code text}. */
  public static Assertion parse(String text) {
    Matcher m = FORM.matcher(text);
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "bad assertion '"
              + text
              + "': try 'p99(ack) < 5ms', 'errors < 1%', 'rate(delivered) > 1000'");
    }
    String stat = m.group(1);
    String metric = m.group(2);
    if (stat != null) {
      java.util.Set<String> known =
          switch (stat) {
            case "rate" -> Metrics.COUNTERS;
            case "count" -> union(Metrics.LATENCIES, Metrics.COUNTERS);
            default -> Metrics.LATENCIES;
          };
      if (!known.contains(metric)) {
        throw new IllegalArgumentException(
            "bad assertion '"
                + text
                + "': "
                + stat
                + "() takes "
                + (stat.equals("rate")
                    ? "a counter"
                    : stat.equals("count") ? "a latency metric or a counter" : "a latency metric")
                + ", one of "
                + new java.util.TreeSet<>(known));
      }
    }
    return new Assertion(text.trim());
  }

  private static java.util.Set<String> union(java.util.Set<String> a, java.util.Set<String> b) {
    java.util.Set<String> u = new java.util.HashSet<>(a);
    u.addAll(b);
    return u;
  }

  /** Checks this assertion against {@code s}. */
  public Result check(Summary s) {
    Matcher m = FORM.matcher(text);
    if (!m.matches()) {
      throw new IllegalStateException(text);
    }
    String stat = m.group(1);
    String metric = m.group(2);
    String op = m.group(4);
    double bound = Double.parseDouble(m.group(5));
    String unit = m.group(6) == null ? "" : m.group(6).toLowerCase(Locale.ROOT);
    double actual;
    String what;
    if (m.group(3) != null) {
      if (unit.equals("%")) {
        actual = s.errorPercent();
        what = String.format(Locale.ROOT, "errors %.3f%%", actual);
      } else {
        actual = s.errors().values().stream().mapToLong(Long::longValue).sum();
        what = "errors " + (long) actual;
      }
    } else if (stat.equals("rate")) {
      actual = s.rates().getOrDefault(metric, 0.0);
      what = String.format(Locale.ROOT, "rate(%s) %.1f/s", metric, actual);
    } else if (stat.equals("count")) {
      LatencyStats l = s.latencies().get(metric);
      actual = l != null ? l.count() : s.counters().getOrDefault(metric, 0L);
      what = "count(" + metric + ") " + (long) actual;
    } else {
      LatencyStats l = s.latencies().get(metric);
      if (l == null || l.count() == 0) {
        return new Result(text, false, Double.NaN, metric + " was never recorded");
      }
      double ms = l.get(stat);
      actual =
          switch (unit) {
            case "us" -> ms * 1000;
            case "s" -> ms / 1000;
            default -> ms;
          };
      what =
          String.format(
              Locale.ROOT, "%s(%s) %.3f%s", stat, metric, actual, unit.isEmpty() ? "ms" : unit);
    }
    boolean ok =
        switch (op) {
          case "<" -> actual < bound;
          case "<=" -> actual <= bound;
          case ">" -> actual > bound;
          case ">=" -> actual >= bound;
          default -> actual == bound;
        };
    return new Result(text, ok, actual, what);
  }
}
