package org.presence.gateway.metrics;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.Metric;
import com.codahale.metrics.MetricFilter;
import com.codahale.metrics.MetricRegistry;
import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.dropwizard.DropwizardExports;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.Map;

/**
 * Renders the node's dropwizard {@link MetricRegistry} in the Prometheus text exposition format,
 * with Prometheus' own writer. Presence's labelled families ({@link GatewayMetrics}: one dropwizard
 * metric per label value, the value being the last parts of the dotted name) are grouped into one
 * Prometheus family each; every other metric (JVM memory, GC, threads, buffers, and whatever
 * components add) goes through Prometheus' dropwizard bridge.
 */
public final class PrometheusExporter {
  /** The {@code Content-Type} of the exposition. */
  public static final String CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;

  /** A labelled family: dropwizard names under {@code prefix}, exposed as {@code name}. */
  private record Family(String prefix, String name, String help, String... labels) {}

  private static final List<Family> FAMILIES =
      List.of(
          new Family(
              GatewayMetrics.CONNECTIONS_OPEN,
              "presence_connections_open",
              "Open client connections by kind.",
              "kind"),
          new Family(
              GatewayMetrics.CONNECTIONS_REFUSED,
              "presence_connections_refused",
              "Connections closed at the accept, their address or the node being over a cap, by cap.",
              "cap"),
          new Family(
              GatewayMetrics.FRAMES_IN,
              "presence_frames_in",
              "Frames (WebSocket) and requests (HTTP) received, by connection kind.",
              "kind"),
          new Family(
              GatewayMetrics.FRAMES_OUT,
              "presence_frames_out",
              "Frames (WebSocket) and responses (HTTP) sent, by connection kind.",
              "kind"),
          new Family(
              GatewayMetrics.ERRORS,
              "presence_errors",
              "Errors answered to clients, by errno.",
              "errno",
              "error"),
          new Family(
              GatewayMetrics.HTTP_RESPONSES,
              "presence_http_responses",
              "HTTP responses by status.",
              "status"));

  private final PrometheusRegistry prometheus = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();

  public PrometheusExporter(MetricRegistry registry) {
    this(registry, null);
  }

  /**
   * An exporter of {@code registry} and of the metrics (histograms) already in Prometheus form in
   * {@code histograms}, or {@code null}.
   */
  public PrometheusExporter(MetricRegistry registry, PrometheusRegistry histograms) {
    MetricFilter unlabelled =
        (name, metric) -> FAMILIES.stream().noneMatch(f -> name.startsWith(f.prefix()));
    DropwizardExports.builder()
        .dropwizardRegistry(registry)
        .metricFilter(unlabelled)
        .register(prometheus);
    prometheus.register((MultiCollector) () -> collectFamilies(registry));
    if (histograms != null) {
      prometheus.register((MultiCollector) histograms::scrape);
    }
  }

  private static MetricSnapshots collectFamilies(MetricRegistry registry) {
    MetricSnapshots.Builder out = MetricSnapshots.builder();
    for (Family f : FAMILIES) {
      CounterSnapshot.Builder counters = null;
      GaugeSnapshot.Builder gauges = null;
      for (Map.Entry<String, Metric> e : registry.getMetrics().entrySet()) {
        String name = e.getKey();
        if (!name.startsWith(f.prefix())) {
          continue;
        }
        Labels labels = labels(f, name.substring(f.prefix().length()));
        if (labels == null) {
          continue;
        }
        if (e.getValue() instanceof Counter c) {
          if (counters == null) {
            counters = CounterSnapshot.builder().name(f.name()).help(f.help());
          }
          counters.dataPoint(
              CounterSnapshot.CounterDataPointSnapshot.builder()
                  .labels(labels)
                  .value(c.getCount())
                  .build());
        } else if (e.getValue() instanceof Gauge<?> g && g.getValue() instanceof Number n) {
          if (gauges == null) {
            gauges = GaugeSnapshot.builder().name(f.name()).help(f.help());
          }
          gauges.dataPoint(
              GaugeSnapshot.GaugeDataPointSnapshot.builder()
                  .labels(labels)
                  .value(n.doubleValue())
                  .build());
        }
      }
      if (counters != null) {
        out.metricSnapshot(counters.build());
      } else if (gauges != null) {
        out.metricSnapshot(gauges.build());
      }
    }
    return out.build();
  }

  /** The labels for the tail of a name ({@code "device"}, or {@code "34.invalid_assertion"}). */
  private static Labels labels(Family f, String tail) {
    String[] values =
        f.labels().length == 1 ? new String[] {tail} : tail.split("\\.", f.labels().length);
    if (values.length != f.labels().length) {
      return null;
    }
    return Labels.of(f.labels(), values);
  }

  /** Writes the current values of every metric to {@code out}. */
  public void write(OutputStream out) throws IOException {
    writer.write(out, prometheus.scrape(), EscapingScheme.UNDERSCORE_ESCAPING);
  }
}
