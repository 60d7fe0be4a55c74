package org.presence.gateway.http;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import java.util.concurrent.atomic.AtomicLong;
import org.presence.gateway.metrics.GatewayMetrics;

/**
 * The node's cap on bytes of request bodies being aggregated ({@code
 * gateway.max-body-bytes-in-flight}), shared by every connection of every port: a body's announced
 * {@code Content-Length} is taken when its header arrives, a chunked body's chunks as they arrive,
 * and all of it is given back once the request is handed on whole, refused, or its connection ends.
 * A request that would take the node past the cap is refused (503, {@code SERVER_BUSY}), so that
 * many slow or stalled bodies cannot hold the direct memory between them.
 *
 * <p>Exported as {@code presence.http.body.bytes_in_flight} (a gauge) and {@code
 * presence.http.body.refused} (requests refused for it).
 */
public final class BodyBudget {
  private final long max;
  private final AtomicLong used = new AtomicLong();
  private final Counter refused;

  /** A budget of {@code max} bytes, its metrics in {@code metrics} (null: none). */
  public BodyBudget(long max, GatewayMetrics metrics) {
    if (max < 1) {
      throw new IllegalArgumentException("budget " + max);
    }
    this.max = max;
    this.refused =
        metrics == null ? new Counter() : metrics.registry().counter("presence.http.body.refused");
    if (metrics != null) {
      metrics.registry().gauge("presence.http.body.bytes_in_flight", () -> (Gauge<Long>) used::get);
    }
  }

  /** Takes {@code bytes}, or nothing and false when that would pass the cap (counted refused). */
  boolean take(long bytes) {
    long now;
    do {
      now = used.get();
      if (now + bytes > max) {
        refused.inc();
        return false;
      }
    } while (!used.compareAndSet(now, now + bytes));
    return true;
  }

  /** Gives back {@code bytes} taken. */
  void giveBack(long bytes) {
    if (bytes > 0) {
      used.addAndGet(-bytes);
    }
  }

  /** Bytes taken now. */
  public long used() {
    return used.get();
  }

  /** The cap. */
  public long max() {
    return max;
  }
}
