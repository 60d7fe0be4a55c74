package org.presence.gateway.testing;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An OpenTelemetry collector for tests: OTLP/HTTP on 127.0.0.1 ({@code POST /v1/traces}), each
 * request decoded with the OTLP protobuf classes and kept.
 */
public final class OtlpCollector implements AutoCloseable {
  private final HttpServer server;
  private final List<ExportTraceServiceRequest> received = new CopyOnWriteArrayList<>();
  private final List<String> contentTypes = new CopyOnWriteArrayList<>();

  private OtlpCollector(HttpServer server) {
    this.server = server;
  }

  /** Starts a collector on a free port. */
  public static OtlpCollector start() {
    try {
      HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
      OtlpCollector c = new OtlpCollector(s);
      s.createContext(
          "/v1/traces",
          ex -> {
            try (InputStream in = ex.getRequestBody()) {
              c.contentTypes.add(ex.getRequestHeaders().getFirst("Content-Type"));
              c.received.add(ExportTraceServiceRequest.parseFrom(in.readAllBytes()));
            }
            ex.getResponseHeaders().set("Content-Type", "application/x-protobuf");
            ex.sendResponseHeaders(200, -1);
            ex.close();
          });
      s.start();
      return c;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The base URL to give as {@code otel.endpoint}. */
  public String endpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** Every export request received, decoded. */
  public List<ExportTraceServiceRequest> received() {
    return received;
  }

  /** The requests' {@code Content-Type}s. */
  public List<String> contentTypes() {
    return contentTypes;
  }

  /** Every span received so far. */
  public List<Span> spans() {
    List<Span> out = new ArrayList<>();
    for (ExportTraceServiceRequest r : received) {
      for (ResourceSpans rs : r.getResourceSpansList()) {
        for (ScopeSpans ss : rs.getScopeSpansList()) {
          out.addAll(ss.getSpansList());
        }
      }
    }
    return out;
  }

  /** A span's attribute as text, or {@code null}. */
  public static String attribute(Span s, String key) {
    for (KeyValue kv : s.getAttributesList()) {
      if (kv.getKey().equals(key)) {
        return kv.getValue().hasIntValue()
            ? Long.toString(kv.getValue().getIntValue())
            : kv.getValue().getStringValue();
      }
    }
    return null;
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
