package org.presence.gateway.config;

import java.time.Duration;

/**
 * OpenTelemetry trace export (docs/operations.md#traces-opentelemetry), off by default.
 *
 * @param endpoint the OTLP/HTTP base URL ({@code http://collector:4318}; spans go to {@code
 *     /v1/traces} below it), or empty: no spans are made at all. {@code
 *     OTEL_EXPORTER_OTLP_ENDPOINT} sets it too
 * @param serviceName the {@code service.name} of the node's spans ({@code OTEL_SERVICE_NAME})
 * @param exportInterval how long finished spans wait before they are sent in a batch
 */
public record OtelConfig(String endpoint, String serviceName, Duration exportInterval) {

  /** Whether spans are made and exported. */
  public boolean enabled() {
    return !endpoint.isEmpty();
  }
}
