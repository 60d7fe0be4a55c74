package org.presence.loadtest.report;

import com.samskivert.mustache.Mustache;
import com.samskivert.mustache.Template;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.HdrHistogram.Histogram;
import org.presence.loadtest.metrics.Metrics;
import org.presence.loadtest.metrics.Timeline;
import org.presence.loadtest.probe.ServerMemory;
import org.presence.protocol.error.ErrorCode;

/**
 * Writes {@code index.html} from a Mustache template: the run's facts, assertions, key figures,
 * latency percentiles, the server's memory per connection, errors by kind (with the errno table's
 * reasons), and charts of throughput, latency percentiles over time, open connections and errors.
 * Charts are inline SVG ({@link SvgChart}): the page is one self-contained file that opens anywhere
 * without a network.
 */
public final class HtmlReport {
  private static final String[] COUNTERS = {
    Metrics.OPENED, Metrics.CLOSED, Metrics.SENT, Metrics.RECEIVED, Metrics.DELIVERED
  };

  /** The page: {@code report.html.mustache} beside this class. */
  private static final Template TEMPLATE = load();

  private HtmlReport() {}

  /** Writes the report for {@code summary} and {@code timeline} into {@code dir}/index.html. */
  public static Path write(Path dir, Summary summary, Timeline timeline) throws IOException {
    Files.createDirectories(dir);
    Path file = dir.resolve("index.html");
    Files.writeString(file, render(summary, timeline), StandardCharsets.UTF_8);
    return file;
  }

  /** The page. */
  public static String render(Summary s, Timeline timeline) {
    Summary.RunInfo r = s.run();
    Map<String, Object> page = new HashMap<>();
    page.put("scenario", r.scenario());
    page.put("target", r.target());
    List<Map<String, String>> facts = new ArrayList<>();
    fact(facts, "URL", r.url());
    fact(facts, "Started", r.started());
    fact(facts, "Duration", s.seconds() + " s");
    fact(facts, "Injector processes", Integer.toString(r.injectors()));
    fact(facts, "Machine", r.machine());
    fact(facts, "JDK", r.jdk());
    fact(facts, "Command", r.command());
    if (r.stopped() != null) {
      fact(facts, "Ended", r.stopped());
    }
    page.put("facts", facts);

    page.put("hasAssertions", !s.assertions().isEmpty());
    page.put("passed", s.passed());
    page.put(
        "assertions",
        s.assertions().stream()
            .map(
                a ->
                    Map.<String, Object>of(
                        "assertion", a.assertion(), "passed", a.passed(), "detail", a.detail()))
            .toList());

    page.put("peakActive", s.peakActive());
    List<Map<String, Object>> counters = new ArrayList<>();
    for (String c : s.counters().keySet()) {
      counters.add(
          Map.of(
              "name", c,
              "total", s.counters().get(c),
              "rate", fmt(s.rates().getOrDefault(c, 0.0)),
              "peak", s.peakRates().getOrDefault(c, 0L)));
    }
    page.put("counters", counters);
    long errors = s.errors().values().stream().mapToLong(Long::longValue).sum();
    page.put("errorCount", errors);
    page.put("errorPercent", String.format(Locale.ROOT, "%.3f%%", s.errorPercent()));

    List<Map<String, Object>> latencies = new ArrayList<>();
    for (Map.Entry<String, LatencyStats> en : s.latencies().entrySet()) {
      LatencyStats l = en.getValue();
      List<String> values = new ArrayList<>();
      for (double v :
          new double[] {l.mean(), l.min(), l.p50(), l.p90(), l.p99(), l.p999(), l.max()}) {
        values.add(fmt(v));
      }
      latencies.add(Map.of("name", en.getKey(), "count", l.count(), "values", values));
    }
    page.put("latencies", latencies);

    List<Map<String, Object>> probe = new ArrayList<>();
    if (s.probe() != null) {
      ProbeResult p = s.probe();
      List<Map<String, String>> rows = new ArrayList<>();
      memRow(
          rows,
          "heap" + (p.loaded().afterFullGc() ? " (after full GC)" : " (no full GC: upper bound)"),
          p.baseline().heapUsed(),
          p.loaded().heapUsed(),
          p.heapPerConnection());
      memRow(
          rows,
          "direct memory",
          p.baseline().direct(),
          p.loaded().direct(),
          p.directPerConnection());
      memRow(rows, "RSS", p.baseline().rss(), p.loaded().rss(), p.rssPerConnection());
      probe.add(
          Map.of(
              "rows", rows,
              "baselineConnections", conn(p.baseline()),
              "loadedConnections", conn(p.loaded()),
              "connections", p.connections()));
    }
    page.put("probe", probe);

    page.put("hasErrors", errors > 0);
    List<Map<String, Object>> errorRows = new ArrayList<>();
    s.errors()
        .forEach((k, v) -> errorRows.add(Map.of("kind", k, "count", v, "meaning", meaning(k))));
    page.put("errors", errorRows);

    page.put("charts", charts(timeline).stream().map(svg -> Map.of("svg", svg)).toList());
    return TEMPLATE.execute(page);
  }

  /** The charts over time, each one SVG element; none without samples. */
  private static List<String> charts(Timeline timeline) {
    List<String> out = new ArrayList<>();
    List<Timeline.Point> pts = timeline.points();
    if (pts.isEmpty()) {
      return out;
    }
    long t0 = pts.get(0).second() - 1;
    double[] xs = new double[pts.size()];
    for (int i = 0; i < xs.length; i++) {
      xs[i] = pts.get(i).second() - t0;
    }
    Map<String, double[]> throughput = new LinkedHashMap<>();
    for (String c : COUNTERS) {
      if (pts.stream().anyMatch(p -> p.counter(c) > 0)) {
        throughput.put(c, pts.stream().mapToDouble(p -> p.counter(c)).toArray());
      }
    }
    out.add(SvgChart.lines("Throughput", "per second", xs, throughput));

    TreeSet<String> metrics = new TreeSet<>();
    pts.forEach(p -> metrics.addAll(p.histograms().keySet()));
    for (String m : metrics) {
      Map<String, double[]> lat = new LinkedHashMap<>();
      lat.put("p50", pct(pts, m, 50));
      lat.put("p99", pct(pts, m, 99));
      lat.put("p99.9", pct(pts, m, 99.9));
      out.add(SvgChart.lines("Latency: " + m, "ms", xs, lat));
    }

    Map<String, double[]> active = new LinkedHashMap<>();
    active.put("open connections", pts.stream().mapToDouble(Timeline.Point::active).toArray());
    out.add(SvgChart.lines("Open connections", "connections", xs, active));

    Map<String, double[]> errs = new LinkedHashMap<>();
    errs.put("all errors", pts.stream().mapToDouble(Timeline.Point::errorCount).toArray());
    TreeSet<String> kinds = new TreeSet<>();
    pts.forEach(p -> kinds.addAll(p.errors().keySet()));
    List<String> top = new ArrayList<>(kinds);
    for (String k : top.subList(0, Math.min(5, top.size()))) {
      errs.put(k, pts.stream().mapToDouble(p -> p.errors().getOrDefault(k, 0L)).toArray());
    }
    out.add(SvgChart.lines("Errors", "per second", xs, errs));
    return out;
  }

  private static double[] pct(List<Timeline.Point> pts, String metric, double percentile) {
    double[] out = new double[pts.size()];
    for (int i = 0; i < out.length; i++) {
      Histogram hist = pts.get(i).histograms().get(metric);
      out[i] =
          hist == null || hist.getTotalCount() == 0
              ? Double.NaN
              : hist.getValueAtPercentile(percentile) / 1000.0;
    }
    return out;
  }

  /** The errno table's reason for {@code errno N} kinds; a short gloss for the harness's own. */
  static String meaning(String kind) {
    if (kind.startsWith("errno ")) {
      try {
        return ErrorCode.fromErrno(Integer.parseInt(kind.substring(6).trim()))
            .map(ErrorCode::reason)
            .orElse("not in the errno table");
      } catch (NumberFormatException ex) {
        return "";
      }
    }
    return switch (kind) {
      case "connect-refused" -> "the TCP connection was refused";
      case "connect-timeout" -> "the TCP connection did not open in time";
      case "handshake-failed" -> "the WebSocket upgrade was refused";
      case "handshake-timeout" -> "the WebSocket upgrade did not complete in time";
      case "closed", "closed-by-server" -> "the server closed the connection";
      case "receive-timeout" -> "an expected frame did not arrive in time";
      case "not-connected" -> "a send on a connection that was not open";
      default ->
          kind.startsWith("close ") ? "closed by the server with that WebSocket close code" : "";
    };
  }

  private static void memRow(
      List<Map<String, String>> rows, String what, long before, long after, double per) {
    rows.add(
        Map.of(
            "name",
            what,
            "before",
            bytes(before),
            "after",
            bytes(after),
            "per",
            per < 0
                ? ProbeResult.NOT_MEASURABLE
                : String.format(Locale.ROOT, "%.0f B (%.2f KiB)", per, per / 1024)));
  }

  private static String conn(ServerMemory m) {
    return m.connections() < 0 ? "—" : Long.toString(m.connections());
  }

  private static String bytes(long b) {
    return b < 0 ? "—" : String.format(Locale.ROOT, "%.1f MiB", b / 1048576.0);
  }

  private static void fact(List<Map<String, String>> facts, String name, String value) {
    facts.add(Map.of("name", name, "value", value == null ? "" : value));
  }

  private static String fmt(double v) {
    return String.format(Locale.ROOT, v >= 100 ? "%.0f" : "%.3f", v);
  }

  private static Template load() {
    try (InputStream in = HtmlReport.class.getResourceAsStream("report.html.mustache")) {
      if (in == null) {
        throw new IllegalStateException("report.html.mustache missing from the class path");
      }
      return Mustache.compiler()
          .escapeHTML(true)
          .compile(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
