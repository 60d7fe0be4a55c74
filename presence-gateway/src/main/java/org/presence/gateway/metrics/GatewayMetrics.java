package org.presence.gateway.metrics;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.jvm.BufferPoolMetricSet;
import com.codahale.metrics.jvm.GarbageCollectorMetricSet;
import com.codahale.metrics.jvm.MemoryUsageGaugeSet;
import com.codahale.metrics.jvm.ThreadStatesGaugeSet;
import io.netty.util.internal.PlatformDependent;
import java.lang.management.ManagementFactory;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.LongAdder;
import org.presence.gateway.trace.Tracing;
import org.presence.protocol.error.ErrorCode;

/**
 * The node's metrics, in one dropwizard {@link MetricRegistry} exposed at {@code GET /metrics} by
 * {@link PrometheusExporter}. Names are dotted; the exporter turns the last parts into labels:
 *
 * <ul>
 *   <li>{@code presence.connections.open.<kind>}: open connections by kind (http, device, app,
 *       stream), a gauge;
 *   <li>{@code presence.connections.refused.<cap>}: connections closed at the accept because their
 *       address was over a cap ({@code pending} or {@code open}, {@code connection.AddressCaps}),
 *       or the node over its cap on pending connections ({@code node_pending}), a counter;
 *   <li>{@code presence.frames.in.<kind>} and {@code presence.frames.out.<kind>}: WebSocket frames
 *       and HTTP messages by channel kind;
 *   <li>{@code presence.errors.<errno>.<name>}: errors answered, by errno;
 *   <li>{@code presence.http.responses.<status>}: HTTP responses by status;
 *   <li>{@code jvm.*}: heap and non-heap memory, GC counts and times, threads, buffer pools, and
 *       Netty's direct memory.
 * </ul>
 *
 * The latency histograms are Prometheus histograms of their own ({@link LatencyHistograms}).
 */
public final class GatewayMetrics {
  public static final String CONNECTIONS_OPEN = "presence.connections.open.";
  public static final String CONNECTIONS_REFUSED = "presence.connections.refused.";
  public static final String FRAMES_IN = "presence.frames.in.";
  public static final String FRAMES_OUT = "presence.frames.out.";
  public static final String ERRORS = "presence.errors.";
  public static final String HTTP_RESPONSES = "presence.http.responses.";

  private final MetricRegistry registry;
  private final LatencyHistograms latency = new LatencyHistograms();
  private final ConcurrentMap<String, UpDown> open = new ConcurrentHashMap<>();
  private final Tracing tracing;

  public GatewayMetrics(MetricRegistry registry) {
    this(registry, Tracing.off());
  }

  /** {@code tracing}: the node's traces ({@code otel.*}), or {@link Tracing#off()}. */
  public GatewayMetrics(MetricRegistry registry, Tracing tracing) {
    this.registry = registry;
    this.tracing = tracing;
    registry.register("jvm.memory", new MemoryUsageGaugeSet());
    registry.register("jvm.gc", new GarbageCollectorMetricSet());
    registry.register("jvm.threads", new ThreadStatesGaugeSet());
    registry.register(
        "jvm.buffers", new BufferPoolMetricSet(ManagementFactory.getPlatformMBeanServer()));
    registry.register("jvm.netty.direct.used", (Gauge<Long>) PlatformDependent::usedDirectMemory);
    registry.register("jvm.netty.direct.max", (Gauge<Long>) PlatformDependent::maxDirectMemory);
    // Calls a full Redis (maxmemory) refused since start: presence_redis_full_refusals_total.
    registry.register(
        "presence.redis.full_refusals",
        new Counter() {
          @Override
          public long getCount() {
            return org.presence.store.redis.RedisErrors.fullRefusals();
          }
        });
  }

  /** A registry with the JVM metrics, for tests. */
  public static GatewayMetrics create() {
    return new GatewayMetrics(new MetricRegistry());
  }

  /** The underlying registry; components add their own metrics to it. */
  public MetricRegistry registry() {
    return registry;
  }

  /** The node's traces; ask {@link Tracing#enabled()} before making a span. */
  public Tracing tracing() {
    return tracing;
  }

  /** The latency histograms (Prometheus histograms, exported with the rest). */
  public LatencyHistograms latency() {
    return latency;
  }

  /** The open-connections gauge of {@code kind}. */
  public UpDown connectionsOpen(String kind) {
    return open.computeIfAbsent(
        kind,
        k -> {
          UpDown g = new UpDown();
          registry.register(CONNECTIONS_OPEN + k, g);
          return g;
        });
  }

  /** Connections refused at the accept for being over {@code cap} (an address's or the node's). */
  public Counter connectionsRefused(String cap) {
    return registry.counter(CONNECTIONS_REFUSED + cap);
  }

  /** Frames (or HTTP requests) received on connections of {@code kind}. */
  public Counter framesIn(String kind) {
    return registry.counter(FRAMES_IN + kind);
  }

  /** Frames (or HTTP responses) sent on connections of {@code kind}. */
  public Counter framesOut(String kind) {
    return registry.counter(FRAMES_OUT + kind);
  }

  /** Counts one error answered with {@code code}. */
  public void error(ErrorCode code) {
    registry.counter(ERRORS + code.errno() + "." + code.metricLabel()).inc();
  }

  /** Counts one HTTP response with {@code status}. */
  public void httpResponse(int status) {
    registry.counter(HTTP_RESPONSES + status).inc();
  }

  /** A gauge that goes up and down, for counts of open things. */
  public static final class UpDown implements Gauge<Long> {
    private final LongAdder value = new LongAdder();

    public void inc() {
      value.increment();
    }

    public void dec() {
      value.decrement();
    }

    @Override
    public Long getValue() {
      return value.sum();
    }
  }
}
