package org.presence.loadtest.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.HdrHistogram.Histogram;
import org.presence.loadtest.client.ServerMemory;
import org.presence.loadtest.metrics.Metrics;
import org.presence.loadtest.metrics.Timeline;
import org.presence.protocol.error.ErrorCode;

/**
 * Writes {@code index.html}: the run's facts, assertions, key figures, latency percentiles, the
 * server's memory per connection, errors by kind (with the errno table's reasons), and charts of
 * throughput, latency percentiles over time, open connections and errors. Charts are inline SVG
 * ({@link SvgChart}): the page is one self-contained file that opens anywhere without a network.
 */
public final class HtmlReport {
  private static final String[] COUNTERS = {
    Metrics.OPENED, Metrics.CLOSED, Metrics.SENT, Metrics.RECEIVED, Metrics.DELIVERED
  };

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
    StringBuilder h = new StringBuilder(64 * 1024);
    Summary.RunInfo r = s.run();
    h.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<title>").append(e(r.scenario())).append(" — Presence load report</title>")
        .append("<style>").append(CSS).append("</style></head><body>");
    h.append("<h1>").append(e(r.scenario())).append(" against ").append(e(r.target())).append("</h1>");
    h.append("<table class=\"facts\">");
    fact(h, "URL", r.url());
    fact(h, "Started", r.started());
    fact(h, "Duration", s.seconds() + " s");
    fact(h, "Injector processes", Integer.toString(r.injectors()));
    fact(h, "Machine", r.machine());
    fact(h, "JDK", r.jdk());
    fact(h, "Command", r.command());
    h.append("</table>");

    if (!s.assertions().isEmpty()) {
      h.append("<h2>Assertions: ").append(s.passed() ? "<span class=\"pass\">passed</span>" : "<span class=\"fail\">failed</span>")
          .append("</h2><table><tr><th>assertion</th><th>result</th><th>actual</th></tr>");
      for (Assertion.Result a : s.assertions()) {
        h.append("<tr><td>").append(e(a.assertion())).append("</td><td class=\"")
            .append(a.passed() ? "pass\">pass" : "fail\">FAIL").append("</td><td>")
            .append(e(a.detail())).append("</td></tr>");
      }
      h.append("</table>");
    }

    h.append("<h2>Key figures</h2><table><tr><th>figure</th><th>total</th><th>per second</th><th>busiest second</th></tr>");
    h.append("<tr><td>peak open connections</td><td>").append(s.peakActive()).append("</td><td></td><td></td></tr>");
    for (String c : s.counters().keySet()) {
      h.append("<tr><td>").append(e(c)).append("</td><td>").append(s.counters().get(c))
          .append("</td><td>").append(fmt(s.rates().getOrDefault(c, 0.0)))
          .append("</td><td>").append(s.peakRates().getOrDefault(c, 0L)).append("</td></tr>");
    }
    long errors = s.errors().values().stream().mapToLong(Long::longValue).sum();
    h.append("<tr><td>errors</td><td>").append(errors).append("</td><td colspan=\"2\">")
        .append(String.format(Locale.ROOT, "%.3f%% of operations", s.errorPercent())).append("</td></tr></table>");

    h.append("<h2>Latency (ms)</h2><table><tr><th>metric</th><th>count</th><th>mean</th><th>min</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>");
    for (Map.Entry<String, LatencyStats> en : s.latencies().entrySet()) {
      LatencyStats l = en.getValue();
      h.append("<tr><td>").append(e(en.getKey())).append("</td><td>").append(l.count()).append("</td>");
      for (double v : new double[] {l.mean(), l.min(), l.p50(), l.p90(), l.p99(), l.p999(), l.max()}) {
        h.append("<td>").append(fmt(v)).append("</td>");
      }
      h.append("</tr>");
    }
    h.append("</table><p class=\"note\">connect: socket opened to session accepted; subscribe: app socket to subscription accepted; ack: request to acknowledgement; update: device send to app receipt; notify: POST to device receipt; post: POST to its response.</p>");

    if (s.probe() != null) {
      ProbeResult p = s.probe();
      h.append("<h2>Server memory per connection</h2><table><tr><th></th><th>baseline</th><th>under load</th><th>per connection</th></tr>");
      memRow(h, "heap" + (p.loaded().afterFullGc() ? " (after full GC)" : " (no full GC: upper bound)"),
          p.baseline().heapUsed(), p.loaded().heapUsed(), p.heapPerConnection());
      memRow(h, "direct memory", p.baseline().direct(), p.loaded().direct(), p.directPerConnection());
      memRow(h, "RSS", p.baseline().rss(), p.loaded().rss(), p.rssPerConnection());
      h.append("<tr><td>connections</td><td>").append(conn(p.baseline())).append("</td><td>")
          .append(p.connections()).append("</td><td></td></tr></table>");
    }

    if (errors > 0) {
      h.append("<h2>Errors</h2><table><tr><th>kind</th><th>count</th><th>meaning</th></tr>");
      s.errors().forEach((k, v) -> h.append("<tr><td>").append(e(k)).append("</td><td>").append(v)
          .append("</td><td>").append(e(meaning(k))).append("</td></tr>"));
      h.append("</table>");
    }

    h.append("<h2>Over time</h2>");
    charts(h, timeline);
    h.append("</body></html>");
    return h.toString();
  }

  private static void charts(StringBuilder h, Timeline timeline) {
    List<Timeline.Point> pts = timeline.points();
    if (pts.isEmpty()) {
      h.append("<p>No samples.</p>");
      return;
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
    h.append(SvgChart.lines("Throughput", "per second", xs, throughput));

    TreeSet<String> metrics = new TreeSet<>();
    pts.forEach(p -> metrics.addAll(p.histograms().keySet()));
    for (String m : metrics) {
      Map<String, double[]> lat = new LinkedHashMap<>();
      lat.put("p50", pct(pts, m, 50));
      lat.put("p99", pct(pts, m, 99));
      lat.put("p99.9", pct(pts, m, 99.9));
      h.append(SvgChart.lines("Latency: " + m, "ms", xs, lat));
    }

    Map<String, double[]> active = new LinkedHashMap<>();
    active.put("open connections", pts.stream().mapToDouble(Timeline.Point::active).toArray());
    h.append(SvgChart.lines("Open connections", "connections", xs, active));

    Map<String, double[]> errs = new LinkedHashMap<>();
    errs.put("all errors", pts.stream().mapToDouble(Timeline.Point::errorCount).toArray());
    TreeSet<String> kinds = new TreeSet<>();
    pts.forEach(p -> kinds.addAll(p.errors().keySet()));
    List<String> top = new ArrayList<>(kinds);
    for (String k : top.subList(0, Math.min(5, top.size()))) {
      errs.put(k, pts.stream().mapToDouble(p -> p.errors().getOrDefault(k, 0L)).toArray());
    }
    h.append(SvgChart.lines("Errors", "per second", xs, errs));
  }

  private static double[] pct(List<Timeline.Point> pts, String metric, double percentile) {
    double[] out = new double[pts.size()];
    for (int i = 0; i < out.length; i++) {
      Histogram hist = pts.get(i).histograms().get(metric);
      out[i] = hist == null || hist.getTotalCount() == 0 ? Double.NaN : hist.getValueAtPercentile(percentile) / 1000.0;
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
      default -> kind.startsWith("close ") ? "closed by the server with that WebSocket close code" : "";
    };
  }

  private static void memRow(StringBuilder h, String what, long before, long after, double per) {
    h.append("<tr><td>").append(e(what)).append("</td><td>").append(bytes(before)).append("</td><td>")
        .append(bytes(after)).append("</td><td>")
        .append(per < 0 ? "—" : String.format(Locale.ROOT, "%.0f B (%.2f KiB)", per, per / 1024)).append("</td></tr>");
  }

  private static String conn(ServerMemory m) {
    return m.connections() < 0 ? "—" : Long.toString(m.connections());
  }

  private static String bytes(long b) {
    return b < 0 ? "—" : String.format(Locale.ROOT, "%.1f MiB", b / 1048576.0);
  }

  private static void fact(StringBuilder h, String k, String v) {
    h.append("<tr><th>").append(e(k)).append("</th><td>").append(e(v == null ? "" : v)).append("</td></tr>");
  }

  private static String fmt(double v) {
    return String.format(Locale.ROOT, v >= 100 ? "%.0f" : "%.3f", v);
  }

  private static String e(String s) {
    return Html.escape(s);
  }

  private static final String CSS =
      "body{font-family:system-ui,sans-serif;margin:2em;max-width:980px;color:#222}"
          + "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
          + "th{background:#f4f4f4}table.facts td,table.facts th{text-align:left}td:first-child{text-align:left}"
          + ".pass{color:#2a7d2a;font-weight:bold}.fail{color:#c0392b;font-weight:bold}.note{color:#666;font-size:.9em}"
          + "svg.chart{width:100%;height:auto;margin:.5em 0 1em}svg .title{font-weight:bold;font-size:14px}"
          + "svg .tick,svg .legend{font-size:11px;fill:#444}svg .grid{stroke:#e6e6e6}svg .frame{fill:none;stroke:#999}";
}
