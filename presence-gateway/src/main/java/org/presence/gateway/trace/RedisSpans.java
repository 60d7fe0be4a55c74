package org.presence.gateway.trace;

import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import org.presence.store.metrics.StoreTracing;

/**
 * The store's Redis command spans as OpenTelemetry client spans: named by the command's type
 * ({@code EVALSHA}), with {@code db.system.name = redis} and {@code db.operation.name}; never the
 * keys or arguments (they carry user ids and PUIDs).
 */
public final class RedisSpans implements StoreTracing {
  private final Tracer tracer;

  /** Only for a node whose {@code tracing} is enabled. */
  public RedisSpans(Tracing tracing) {
    this.tracer = tracing.tracer();
  }

  @Override
  public StoreTracing.Span redisCommand(String command) {
    io.opentelemetry.api.trace.Span span =
        tracer
            .spanBuilder(command)
            .setSpanKind(SpanKind.CLIENT)
            .setAttribute("db.system.name", "redis")
            .setAttribute("db.operation.name", command)
            .startSpan();
    return new StoreTracing.Span() {
      @Override
      public void failed(Throwable error) {
        span.setStatus(StatusCode.ERROR, error.getClass().getSimpleName());
      }

      @Override
      public void end() {
        span.end();
      }
    };
  }
}
