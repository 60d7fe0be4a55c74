package org.presence.gateway.trace;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.config.OtelConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's OpenTelemetry traces ({@code otel.*}, docs/operations.md#traces-opentelemetry): an SDK
 * tracer provider whose spans go in batches to an OTLP/HTTP collector (protobuf, the JDK's
 * HttpClient), or nothing at all. Code that makes spans asks {@link #enabled()} first, so a node
 * without {@code otel.endpoint} creates no span, builder or context object.
 *
 * <p>What goes into spans is chosen here and at each span: route templates, never paths (they carry
 * PUIDs); counts and application ids; never PUIDs, user ids, keys, tokens or addresses.
 */
public final class Tracing implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Tracing.class);
  private static final Tracing OFF = new Tracing(null, null);

  /** The instrumentation scope of every span of the node. */
  public static final String SCOPE = "org.presence.gateway";

  private final SdkTracerProvider provider;
  private final Tracer tracer;

  private Tracing(SdkTracerProvider provider, Tracer tracer) {
    this.provider = provider;
    this.tracer = tracer;
  }

  /** No traces. */
  public static Tracing off() {
    return OFF;
  }

  /** Starts the export when {@code otel.endpoint} is set, else returns {@link #off()}. */
  public static Tracing start(OtelConfig config, String nodeId, String version) {
    if (!config.enabled()) {
      return OFF;
    }
    String base =
        config.endpoint().endsWith("/")
            ? config.endpoint().substring(0, config.endpoint().length() - 1)
            : config.endpoint();
    OtlpHttpSpanExporter exporter =
        OtlpHttpSpanExporter.builder()
            .setEndpoint(base + "/v1/traces")
            .setTimeout(Duration.ofSeconds(10))
            .build();
    Resource resource =
        Resource.getDefault()
            .merge(
                Resource.create(
                    Attributes.of(
                        AttributeKey.stringKey("service.name"),
                        config.serviceName(),
                        AttributeKey.stringKey("service.instance.id"),
                        nodeId,
                        AttributeKey.stringKey("service.version"),
                        version)));
    SdkTracerProvider provider =
        SdkTracerProvider.builder()
            .setResource(resource)
            .addSpanProcessor(
                BatchSpanProcessor.builder(exporter)
                    .setScheduleDelay(config.exportInterval())
                    .setMaxQueueSize(8192)
                    .build())
            .build();
    LOG.info("traces exported over OTLP/HTTP to {}/v1/traces", base);
    return new Tracing(provider, provider.get(SCOPE));
  }

  /** Whether spans are made; ask before making one. */
  public boolean enabled() {
    return tracer != null;
  }

  /** The tracer; only when {@link #enabled()}. */
  public Tracer tracer() {
    return tracer;
  }

  /** Sends the spans still waiting (for at most 5 s) and stops the export. */
  @Override
  public void close() {
    if (provider != null) {
      provider.shutdown().join(5, TimeUnit.SECONDS);
    }
  }
}
