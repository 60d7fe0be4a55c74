package org.presence.loadtest.engine;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.loadtest.metrics.IntervalSample;
import org.presence.loadtest.metrics.Metrics;
import org.presence.loadtest.metrics.SampleCodec;
import org.presence.loadtest.metrics.Timeline;
import org.presence.loadtest.report.Summary;

/**
 * {@code summary.json} as scripts read it: each latency says its unit; a run a signal stopped says
 * so, and a rebuilt report keeps saying it.
 */
class SummaryFileTest {
  @TempDir Path dir;

  private static IntervalSample sample() {
    Histogram ack = Metrics.newHistogram();
    ack.recordValue(1500); // 1.5 ms
    return new IntervalSample(
        0, 0, 1000, 1, Map.of(Metrics.OPENED, 1L), Map.of(), Map.of(Metrics.ACK, ack));
  }

  @Test
  void latenciesNameTheirUnit_andAStoppedRunIsMarked_alsoAfterARebuild() throws Exception {
    Timeline t = new Timeline();
    IntervalSample s = sample();
    t.add(s);
    Files.writeString(dir.resolve("samples.jsonl"), SampleCodec.encode(s) + "\n");
    Summary.RunInfo info =
        new Summary.RunInfo(
            "idle-density",
            "floor",
            "http://x",
            "2026-01-01T00:00:00Z",
            1,
            "c",
            "m",
            "j",
            LoadRun.STOPPED_BY_SIGNAL);
    Reports.write(dir, Summary.of(info, t, null), t);
    ObjectMapper json = new ObjectMapper();
    JsonNode written = json.readTree(dir.resolve("summary.json").toFile());
    assertThat(written.path("latencies").path(Metrics.ACK).path("unit").asText()).isEqualTo("ms");
    assertThat(written.path("latencies").path(Metrics.ACK).path("p50").asDouble()).isEqualTo(1.5);
    assertThat(written.path("run").path("stopped").asText()).isEqualTo(LoadRun.STOPPED_BY_SIGNAL);
    assertThat(Files.readString(dir.resolve("index.html"))).contains(LoadRun.STOPPED_BY_SIGNAL);

    Path rebuilt = dir.resolve("rebuilt");
    Summary again = Reports.rebuild(List.of(dir), rebuilt, List.of(), "loadtest report");
    assertThat(again.run().stopped()).isEqualTo(LoadRun.STOPPED_BY_SIGNAL);
    assertThat(again.latencies().get(Metrics.ACK).unit()).isEqualTo("ms");
  }

  /** A run folder of {@code scenario} that was slice {@code slice} (null: not sliced). */
  private Path run(String name, String scenario, String slice) throws Exception {
    Path d = dir.resolve(name);
    Files.createDirectories(d);
    Timeline t = new Timeline();
    IntervalSample s = sample();
    t.add(s);
    Files.writeString(d.resolve("samples.jsonl"), SampleCodec.encode(s) + "\n");
    Summary.RunInfo info =
        new Summary.RunInfo(
            scenario,
            "presence",
            "http://x",
            "2026-01-01T00:00:00Z",
            1,
            "c",
            "m",
            "j",
            null,
            slice);
    Reports.write(d, Summary.of(info, t, null), t);
    return d;
  }

  private String refused(Path... dirs) {
    Path out = dir.resolve("merged");
    try {
      Reports.rebuild(List.of(dirs), out, List.of(), "loadtest report");
    } catch (IllegalArgumentException e) {
      assertThat(out).doesNotExist();
      return e.getMessage();
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("merged " + List.of(dirs));
  }

  @Test
  void slicesOfOneRunMerge_andUnrelatedFoldersAreRefused() throws Exception {
    Path a = run("a", "connect-storm", "0/2");
    Path b = run("b", "connect-storm", "1/2");
    assertThat(
            new ObjectMapper()
                .readTree(a.resolve("summary.json").toFile())
                .path("run")
                .path("slice")
                .asText())
        .isEqualTo("0/2");
    Summary merged =
        Reports.rebuild(List.of(a, b), dir.resolve("ok"), List.of(), "loadtest report");
    assertThat(merged.latencies().get(Metrics.ACK).count()).isEqualTo(2);
    assertThat(merged.run().injectors()).isEqualTo(2);

    assertThat(refused(a, a)).contains("given twice");
    assertThat(refused(a, run("c", "status-fanout", "1/2"))).contains("different runs");
    assertThat(refused(a, run("d", "connect-storm", null))).contains("without");
    assertThat(refused(a, run("e", "connect-storm", "1/3"))).contains("--slice 1/3 and 0/2");
    assertThat(refused(a, b, run("f", "connect-storm", "1/2"))).contains("same slice 1/2");
    Path nothing = dir.resolve("nothing-here");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> Reports.rebuild(List.of(a, nothing), dir.resolve("x"), List.of(), "r"))
        .isInstanceOf(java.nio.file.NoSuchFileException.class)
        .hasMessageContaining(nothing.resolve("samples.jsonl").toString());

    // Unsliced folders (reports written before runs said their slice) merge as given.
    Path g = run("g", "connect-storm", null);
    Path h = run("h", "connect-storm", null);
    assertThat(Reports.rebuild(List.of(g, h), dir.resolve("old"), List.of(), "r").run().slice())
        .isNull();
  }
}
