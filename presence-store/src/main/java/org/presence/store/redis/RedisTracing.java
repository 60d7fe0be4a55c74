package org.presence.store.redis;

import io.lettuce.core.protocol.CompleteableCommand;
import io.lettuce.core.protocol.RedisCommand;
import io.lettuce.core.tracing.TraceContext;
import io.lettuce.core.tracing.TraceContextProvider;
import io.lettuce.core.tracing.Tracer;
import io.lettuce.core.tracing.TracerProvider;
import io.lettuce.core.tracing.Tracing;
import java.net.SocketAddress;
import org.presence.store.metrics.StoreTracing;

/**
 * Lettuce's tracing hook ({@link Tracing}) over a {@link StoreTracing}: one span per command, named
 * by its type. Command arguments are never given to spans ({@link #includeCommandArgsInSpanTags()}
 * is false, and tags are dropped): Redis keys carry user ids and PUIDs.
 */
final class RedisTracing implements Tracing, TracerProvider, TraceContextProvider {
  private static final Endpoint NO_ENDPOINT = new Endpoint() {};

  private final StoreTracing spans;
  private final Tracer tracer =
      new Tracer() {
        @Override
        public Span nextSpan() {
          return new CommandSpan();
        }

        @Override
        public Span nextSpan(TraceContext traceContext) {
          return new CommandSpan();
        }
      };

  RedisTracing(StoreTracing spans) {
    this.spans = spans;
  }

  @Override
  public TracerProvider getTracerProvider() {
    return this;
  }

  @Override
  public Tracer getTracer() {
    return tracer;
  }

  @Override
  public TraceContextProvider initialTraceContextProvider() {
    return this;
  }

  @Override
  public TraceContext getTraceContext() {
    return TraceContext.EMPTY;
  }

  @Override
  public boolean isEnabled() {
    return true;
  }

  @Override
  public boolean includeCommandArgsInSpanTags() {
    return false;
  }

  @Override
  public Endpoint createEndpoint(SocketAddress socketAddress) {
    return NO_ENDPOINT;
  }

  /** Lettuce names a span, then starts it; the real span exists from the start on. */
  private final class CommandSpan extends Tracer.Span {
    private String name = "redis";
    private volatile StoreTracing.Span span;

    @Override
    public Tracer.Span start(RedisCommand<?, ?, ?> command) {
      String type =
          command != null && command.getType() != null ? command.getType().toString() : name;
      StoreTracing.Span started = spans.redisCommand(type);
      span = started;
      // Lettuce leaves the end to the span: it ends when the command completes or fails.
      if (command instanceof CompleteableCommand<?> completeable) {
        completeable.onComplete(
            (result, error) -> {
              if (error != null) {
                started.failed(error);
              }
              finish();
            });
      }
      return this;
    }

    @Override
    public Tracer.Span name(String name) {
      this.name = name;
      return this;
    }

    @Override
    public Tracer.Span annotate(String value) {
      return this;
    }

    @Override
    public Tracer.Span tag(String key, String value) {
      return this;
    }

    @Override
    public Tracer.Span error(Throwable throwable) {
      if (span != null) {
        span.failed(throwable);
      }
      return this;
    }

    @Override
    public Tracer.Span remoteEndpoint(Endpoint endpoint) {
      return this;
    }

    @Override
    public void finish() {
      StoreTracing.Span s = span;
      span = null;
      if (s != null) {
        s.end();
      }
    }
  }
}
