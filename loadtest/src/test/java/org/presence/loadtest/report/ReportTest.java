package org.presence.loadtest.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.loadtest.metrics.IntervalSample;
import org.presence.loadtest.metrics.Metrics;
import org.presence.loadtest.metrics.Timeline;
import org.presence.loadtest.probe.ServerMemory;

class ReportTest {
  @TempDir Path dir;

  private static Summary.RunInfo info() {
    return new Summary.RunInfo(
        "status-fanout",
        "floor",
        "http://127.0.0.1:1",
        "2026-01-01T00:00:00Z",
        1,
        "loadtest run <x>",
        "m",
        "jdk");
  }

  private static Timeline timeline() {
    Timeline t = new Timeline();
    for (int s = 0; s < 3; s++) {
      Histogram ack = Metrics.newHistogram();
      for (int i = 1; i <= 100; i++) {
        ack.recordValue(i * 100L); // 0.1 .. 10 ms
      }
      t.add(
          new IntervalSample(
              0,
              s * 1000L,
              (s + 1) * 1000L,
              50,
              Map.of(Metrics.OPENED, 10L, Metrics.SENT, 90L, Metrics.DELIVERED, 100L),
              s == 1 ? Map.of("errno 34", 1L) : Map.of(),
              Map.of(Metrics.ACK, ack)));
    }
    return t;
  }

  @Test
  void assertions_checkLatenciesRatesCountsAndErrors() {
    Summary s = Summary.of(info(), timeline(), null);
    assertThat(check(s, "p99(ack) < 11ms")).isTrue();
    assertThat(check(s, "p99(ack) < 5ms")).isFalse();
    assertThat(check(s, "p50(ack) <= 5100us")).isTrue();
    assertThat(check(s, "max(ack) < 1s")).isTrue();
    assertThat(check(s, "count(ack) == 300")).isTrue();
    assertThat(check(s, "count(delivered) >= 300")).isTrue();
    assertThat(check(s, "rate(delivered) > 99")).isTrue();
    assertThat(check(s, "errors == 1")).isTrue();
    assertThat(check(s, "errors < 0.1%")).isFalse();
    assertThat(check(s, "errors < 1%")).isTrue();
    // A metric never recorded fails any latency bound.
    assertThat(check(s, "p99(update) < 1000ms")).isFalse();
  }

  @Test
  void badAssertions_areRefused() {
    assertThatThrownBy(() -> Assertion.parse("p99 < 5"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Assertion.parse("p42(ack) < 5ms"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Assertion.parse("errors ~ 1%"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static boolean check(Summary s, String text) {
    return Assertion.parse(text).check(s).passed();
  }

  @Test
  void summary_addsUpTheTimeline() {
    Summary s = Summary.of(info(), timeline(), null);
    assertThat(s.seconds()).isEqualTo(3);
    assertThat(s.counters()).containsEntry(Metrics.SENT, 270L);
    assertThat(s.rates().get(Metrics.SENT)).isEqualTo(90.0);
    assertThat(s.peakRates()).containsEntry(Metrics.SENT, 90L);
    assertThat(s.latencies().get(Metrics.ACK).count()).isEqualTo(300);
    assertThat(s.errorPercent()).isEqualTo(100.0 / (30 + 270 + 1));
    assertThat(s.withAssertions(List.of(new Assertion.Result("x", false, 1, "d"))).passed())
        .isFalse();
    assertThat(s.passed()).isTrue();
  }

  @Test
  void probe_dividesTheGrowthByConnections() {
    ProbeResult p =
        ProbeResult.of(
            new ServerMemory(1000, true, 100, 5000, 0),
            new ServerMemory(21000, true, 1100, 45000, 10),
            99);
    assertThat(p.connections()).isEqualTo(10);
    assertThat(p.heapPerConnection()).isEqualTo(2000);
    assertThat(p.directPerConnection()).isEqualTo(100);
    assertThat(p.rssPerConnection()).isEqualTo(4000);
    ProbeResult unknown =
        ProbeResult.of(
            new ServerMemory(1000, false, -1, -1, -1),
            new ServerMemory(3000, false, -1, -1, -1),
            4);
    assertThat(unknown.connections()).isEqualTo(4);
    assertThat(unknown.heapPerConnection()).isEqualTo(500);
    assertThat(unknown.rssPerConnection()).isEqualTo(-1);
  }

  @Test
  void probe_dividesByTheConnectionsTheRunAdded_andNeverShowsNegativeBytes() throws Exception {
    // The node already held 1 connection (the probe's own) before the run added 100.
    ProbeResult p =
        ProbeResult.of(
            new ServerMemory(1000, true, 100, 5000, 1),
            new ServerMemory(201000, true, 10100, 405000, 101),
            100);
    assertThat(p.connections()).isEqualTo(100);
    assertThat(p.heapPerConnection()).isEqualTo(2000);
    assertThat(p.rssPerConnection()).isEqualTo(4000);
    // Heap shrank (a GC under load), RSS did not move, nothing added: not measurable, never < 0.
    ProbeResult shrunk =
        ProbeResult.of(
            new ServerMemory(5000, true, 100, 5000, 3),
            new ServerMemory(3000, true, 100, 5000, 103),
            100);
    assertThat(shrunk.heapPerConnection()).isEqualTo(-1);
    assertThat(shrunk.directPerConnection()).isEqualTo(-1);
    ProbeResult none =
        ProbeResult.of(
            new ServerMemory(1000, true, 100, 5000, 7),
            new ServerMemory(9000, true, 900, 9000, 7),
            0);
    assertThat(none.connections()).isZero();
    assertThat(none.heapPerConnection()).isEqualTo(-1);
    Summary s = Summary.of(info(), new Timeline(), shrunk);
    java.io.StringWriter text = new java.io.StringWriter();
    org.presence.loadtest.engine.Reports.printFinal(
        new java.io.PrintWriter(text), s, java.nio.file.Path.of("r"), null);
    assertThat(text.toString())
        .contains(
            "(100 added by the run): heap not measurable after full GC, direct not measurable")
        .doesNotContain("-1 B")
        .doesNotContain("-2000");
  }

  @Test
  void html_holdsFactsTablesAndChartsWithoutScriptsOrNetwork() throws Exception {
    Summary s =
        Summary.of(
                info(),
                timeline(),
                ProbeResult.of(
                    new ServerMemory(0, true, 0, 0, 0),
                    new ServerMemory(2048, true, 0, 4096, 2),
                    2))
            .withAssertions(
                List.of(
                    Assertion.parse("p99(ack) < 5ms").check(Summary.of(info(), timeline(), null))));
    Path file = HtmlReport.write(dir, s, timeline());
    String html = Files.readString(file);
    assertThat(html).contains("<h1>status-fanout against floor</h1>");
    assertThat(html).contains("loadtest run &lt;x&gt;");
    assertThat(html).contains("Assertions: <span class=\"fail\">failed</span>");
    assertThat(html)
        .contains("Latency: ack")
        .contains("Throughput")
        .contains("Open connections")
        .contains("Errors");
    assertThat(html).contains("Invalid assertion"); // errno 34 explained from the errno table
    assertThat(html).contains("1024 B (1.00 KiB)");
    assertThat(html.split("<svg", -1)).hasSize(5);
    assertThat(html)
        .doesNotContain("<script")
        .doesNotContain("http://cdn")
        .doesNotContain("https://");
    assertThat(html).contains("<polyline");
  }

  @Test
  void consoleLine_showsOpenRatesErrorsAndPercentiles() {
    String line = ConsoleReporter.line(timeline().lastSeconds(2), 2, 12);
    assertThat(line).startsWith("[   12s] open 50");
    assertThat(line)
        .contains("sent/s 90")
        .contains("errors 1 (errno 34: 1)")
        .contains("ack p50 5.0 p99 9.9 ms");
  }

  @Test
  void niceCeiling_roundsUp() {
    assertThat(SvgChart.niceCeiling(0)).isEqualTo(1);
    assertThat(SvgChart.niceCeiling(3.2)).isEqualTo(5);
    assertThat(SvgChart.niceCeiling(1001)).isEqualTo(2000);
    assertThat(SvgChart.niceCeiling(10)).isEqualTo(10);
  }
}
