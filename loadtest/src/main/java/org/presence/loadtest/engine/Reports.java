package org.presence.loadtest.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.presence.loadtest.metrics.SampleCodec;
import org.presence.loadtest.metrics.Timeline;
import org.presence.loadtest.report.Assertion;
import org.presence.loadtest.report.HtmlReport;
import org.presence.loadtest.report.ProbeResult;
import org.presence.loadtest.report.Summary;

/**
 * Writes a run's {@code summary.json} and {@code index.html}, prints its closing lines, and
 * rebuilds a report from the {@code samples.jsonl} of one or more runs ({@code loadtest report}),
 * which is how the runs of several machines merge into one.
 */
public final class Reports {
  private static final ObjectMapper MAPPER =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private Reports() {}

  /** Writes {@code summary.json} and {@code index.html} into {@code dir}. */
  public static void write(Path dir, Summary summary, Timeline timeline) throws IOException {
    Files.createDirectories(dir);
    MAPPER.writeValue(dir.resolve("summary.json").toFile(), summary);
    HtmlReport.write(dir, summary, timeline);
  }

  /** Prints the closing summary lines. */
  public static void printFinal(PrintWriter out, Summary s, Path dir, Long serverPid) {
    if (s.run().stopped() != null) {
      out.println(s.run().stopped() + ": the figures cover the run until then");
    }
    out.printf(
        Locale.ROOT,
        "done: %d s, peak %d open, errors %d (%.3f%%)%n",
        s.seconds(),
        s.peakActive(),
        s.errors().values().stream().mapToLong(Long::longValue).sum(),
        s.errorPercent());
    s.latencies()
        .forEach(
            (m, l) ->
                out.printf(
                    Locale.ROOT,
                    "  %-10s n=%d p50 %.3f p90 %.3f p99 %.3f p99.9 %.3f max %.3f ms%n",
                    m,
                    l.count(),
                    l.p50(),
                    l.p90(),
                    l.p99(),
                    l.p999(),
                    l.max()));
    s.rates()
        .forEach(
            (k, v) ->
                out.printf(
                    Locale.ROOT,
                    "  %-14s %d total, %.1f/s, busiest second %d%n",
                    k,
                    s.counters().get(k),
                    v,
                    s.peakRates().getOrDefault(k, 0L)));
    ProbeResult p = s.probe();
    if (p != null) {
      out.printf(
          Locale.ROOT,
          "  server per connection (%d added by the run): heap %s%s, direct %s, RSS %s%n",
          p.connections(),
          ProbeResult.bytes(p.heapPerConnection()),
          p.loaded().afterFullGc() ? " after full GC" : " (no GC)",
          ProbeResult.bytes(p.directPerConnection()),
          ProbeResult.bytes(p.rssPerConnection()));
    }
    if (!s.errors().isEmpty()) {
      out.println("  errors: " + s.errors());
    }
    for (Assertion.Result a : s.assertions()) {
      out.println(
          "  " + (a.passed() ? "pass " : "FAIL ") + a.assertion() + "  [" + a.detail() + "]");
    }
    out.println("report: " + dir.resolve("index.html").toAbsolutePath());
    out.flush();
  }

  /**
   * Merges the samples of {@code dirs} into one timeline and writes a report into {@code outDir};
   * the first folder's summary gives the run facts and the server probe.
   */
  public static Summary rebuild(
      List<Path> dirs, Path outDir, List<Assertion> assertions, String command) throws IOException {
    Timeline timeline = new Timeline();
    for (Path d : dirs) {
      try (BufferedReader r =
          Files.newBufferedReader(d.resolve("samples.jsonl"), StandardCharsets.UTF_8)) {
        String line;
        while ((line = r.readLine()) != null) {
          if (SampleCodec.isSample(line)) {
            timeline.add(SampleCodec.decode(line));
          }
        }
      }
    }
    Summary first = MAPPER.readValue(dirs.get(0).resolve("summary.json").toFile(), Summary.class);
    Summary.RunInfo r = first.run();
    Summary.RunInfo info =
        new Summary.RunInfo(
            r.scenario(),
            r.target(),
            r.url(),
            r.started(),
            dirs.size() > 1 ? r.injectors() * dirs.size() : r.injectors(),
            command,
            r.machine(),
            r.jdk(),
            r.stopped());
    Summary s = Summary.of(info, timeline, first.probe());
    List<Assertion.Result> results = assertions.stream().map(a -> a.check(s)).toList();
    Summary done = s.withAssertions(results);
    write(outDir, done, timeline);
    return done;
  }
}
