package org.presence.loadtest.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

class MetricsTest {
  @Test
  void sample_takesIntervalDeltas() {
    Metrics m = new Metrics();
    m.record(Metrics.ACK, 1000);
    m.count(Metrics.SENT, 3);
    m.error("errno 34");
    m.opened();
    IntervalSample a = m.sample(0, 0, 1000);
    assertThat(a.counter(Metrics.SENT)).isEqualTo(3);
    assertThat(a.errors()).containsEntry("errno 34", 1L);
    assertThat(a.histograms().get(Metrics.ACK).getTotalCount()).isEqualTo(1);
    assertThat(a.active()).isEqualTo(1);
    m.count(Metrics.SENT);
    IntervalSample b = m.sample(0, 1000, 2000);
    assertThat(b.counter(Metrics.SENT)).isEqualTo(1);
    assertThat(b.errors()).isEmpty();
    assertThat(b.histograms()).isEmpty();
  }

  @Test
  void codec_roundTripsASample() {
    Histogram h = Metrics.newHistogram();
    for (int i = 1; i <= 1000; i++) {
      h.recordValue(i * 10L);
    }
    IntervalSample s =
        new IntervalSample(
            2, 1000, 2000, 7, Map.of("sent", 5L), Map.of("errno -3", 2L), Map.of("update", h));
    IntervalSample back = SampleCodec.decode(SampleCodec.encode(s));
    assertThat(back.injector()).isEqualTo(2);
    assertThat(back.active()).isEqualTo(7);
    assertThat(back.counters()).isEqualTo(s.counters());
    assertThat(back.errors()).isEqualTo(s.errors());
    assertThat(back.histograms().get("update")).isEqualTo(h);
    assertThat(SampleCodec.isSample(SampleCodec.encode(s))).isTrue();
    assertThat(SampleCodec.isSample("ready")).isFalse();
  }

  @Test
  void timeline_mergesInjectorsPerSecond_exactly() {
    Histogram h0 = Metrics.newHistogram();
    Histogram h1 = Metrics.newHistogram();
    Histogram all = Metrics.newHistogram();
    for (int i = 1; i <= 500; i++) {
      h0.recordValue(i);
      all.recordValue(i);
      h1.recordValue(i * 100L);
      all.recordValue(i * 100L);
    }
    Timeline t = new Timeline();
    t.add(new IntervalSample(0, 0, 1000, 10, Map.of("sent", 2L), Map.of(), Map.of("ack", h0)));
    t.add(
        new IntervalSample(
            1, 0, 1001, 20, Map.of("sent", 3L), Map.of("closed", 1L), Map.of("ack", h1)));
    t.add(new IntervalSample(0, 1000, 2000, 12, Map.of("sent", 1L), Map.of(), Map.of()));
    List<Timeline.Point> points = t.points();
    assertThat(points).hasSize(2);
    assertThat(points.get(0).active()).isEqualTo(30);
    assertThat(points.get(0).counter("sent")).isEqualTo(5);
    // Injector 1 said nothing in the second second: its last figure still counts.
    assertThat(points.get(1).active()).isEqualTo(32);
    Timeline.Totals totals = t.totals();
    assertThat(totals.counter("sent")).isEqualTo(6);
    assertThat(totals.errorCount()).isEqualTo(1);
    assertThat(totals.peakActive()).isEqualTo(32);
    assertThat(totals.histograms().get("ack")).isEqualTo(all);
    assertThat(totals.histograms().get("ack").getValueAtPercentile(99))
        .isEqualTo(all.getValueAtPercentile(99));
    assertThat(t.lastSeconds(1).counter("sent")).isEqualTo(1);
  }

  @Test
  void stamps_areFoundInBuffersAndText() {
    String frame =
        "[{\"UID\":\"a\",\"message\":\"lt:123\"},{\"UID\":\"b\",\"message\":\"lt:456\"},\"lt:\",\"lt\"]";
    ByteBuf buf = Unpooled.copiedBuffer(frame, StandardCharsets.UTF_8);
    try {
      List<Long> found = new ArrayList<>();
      assertThat(Stamp.forEach(buf, found::add)).isEqualTo(2);
      assertThat(found).containsExactly(123L, 456L);
      assertThat(buf.readerIndex()).isZero();
    } finally {
      buf.release();
    }
    List<Long> fromText = new ArrayList<>();
    assertThat(Stamp.forEach(frame, fromText::add)).isEqualTo(2);
    assertThat(fromText).containsExactly(123L, 456L);
    assertThat(Stamp.of(42)).isEqualTo("lt:42");
  }

  @Test
  void clock_isMonotonicAndNearTheWallClock() {
    long a = Clock.micros();
    long b = Clock.micros();
    assertThat(b).isGreaterThanOrEqualTo(a);
    assertThat(Math.abs(Clock.millis() - System.currentTimeMillis())).isLessThan(1000);
  }
}
