package org.presence.store.metrics;

/**
 * Makes trace spans for the store's Redis commands (the node's OpenTelemetry traces), through
 * Lettuce's tracing hook ({@code redis/RedisTracing}). Given to {@code Store.open}: Lettuce decides
 * when a connection is made whether it traces. Called on Lettuce's threads: quick, never blocking.
 * A span is told the command's type only ({@code EVALSHA}, {@code PUBLISH}), never its keys or
 * arguments, which carry user ids and PUIDs.
 */
public interface StoreTracing {
  /** Starts the span of one Redis command. */
  Span redisCommand(String command);

  /** One command's span. */
  interface Span {
    /** The command failed. */
    void failed(Throwable error);

    /** The command completed (or failed): ends the span. */
    void end();
  }
}
