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
}
