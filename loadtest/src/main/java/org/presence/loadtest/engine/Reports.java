package org.presence.loadtest.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
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
   *
   * @throws NoSuchFileException when a folder has no {@code samples.jsonl} or {@code summary.json}
   * @throws IllegalArgumentException when the folders are not the slices of one run: the same
   *     folder twice, other scenarios or targets, sliced and unsliced runs together, or slices of
   *     different counts or the same slice twice (a merge would add unrelated samples into figures
   *     that look right)
   */
  public static Summary rebuild(
      List<Path> dirs, Path outDir, List<Assertion> assertions, String command) throws IOException {
    List<Summary.RunInfo> runs = new ArrayList<>();
    for (Path d : dirs) {
      // A folder without a run fails as reading it would, naming the file (exit status 3).
      for (String file : List.of("samples.jsonl", "summary.json")) {
        if (!Files.isRegularFile(d.resolve(file))) {
          throw new NoSuchFileException(d.resolve(file).toString());
        }
      }
      runs.add(MAPPER.readValue(d.resolve("summary.json").toFile(), Summary.class).run());
    }
    checkMergeable(dirs, runs);
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
    Summary.RunInfo r = runs.get(0);
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
            runs.stream()
                .map(Summary.RunInfo::stopped)
                .filter(x -> x != null)
                .findFirst()
                .orElse(null),
            dirs.size() > 1 ? null : r.slice());
    Summary s = Summary.of(info, timeline, first.probe());
    List<Assertion.Result> results = assertions.stream().map(a -> a.check(s)).toList();
    Summary done = s.withAssertions(results);
    write(outDir, done, timeline);
    return done;
  }

  /** Refuses folders that are not the slices of one run (see {@link #rebuild}). */
  private static void checkMergeable(List<Path> dirs, List<Summary.RunInfo> runs) {
    if (dirs.size() < 2) {
      return;
    }
    Set<Path> seen = new HashSet<>();
    for (Path d : dirs) {
      if (!seen.add(d.toAbsolutePath().normalize())) {
        throw new IllegalArgumentException(d + " is given twice");
      }
    }
    Summary.RunInfo first = runs.get(0);
    Set<String> slices = new HashSet<>();
    for (int i = 0; i < runs.size(); i++) {
      Summary.RunInfo r = runs.get(i);
      String what = dirs.get(i) + " and " + dirs.get(0);
      if (!Objects.equals(r.scenario(), first.scenario())
          || !Objects.equals(r.target(), first.target())) {
        throw new IllegalArgumentException(
            what
                + " are different runs: "
                + r.scenario()
                + " against "
                + r.target()
                + ", and "
                + first.scenario()
                + " against "
                + first.target());
      }
      if ((r.slice() == null) != (first.slice() == null)) {
        throw new IllegalArgumentException(
            what + " are not slices of one run: one was run with --slice, the other without");
      }
      if (r.slice() == null) {
        continue;
      }
      String count = r.slice().substring(r.slice().indexOf('/') + 1);
      if (!count.equals(first.slice().substring(first.slice().indexOf('/') + 1))) {
        throw new IllegalArgumentException(
            what + " are not slices of one run: --slice " + r.slice() + " and " + first.slice());
      }
      if (!slices.add(r.slice())) {
        throw new IllegalArgumentException(
            "two folders are the same slice " + r.slice() + " (" + dirs.get(i) + ")");
      }
    }
  }
}
