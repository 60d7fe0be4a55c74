package org.presence.gateway.updates;

import java.util.concurrent.ConcurrentHashMap;
import org.presence.gateway.config.UpdatesConfig;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * The per-application limits on update connections of one node: how many may be open ({@link
 * UpdatesConfig#maxConnectionsPerApp()}) and how fast new ones may be opened (a token bucket,
 * {@link UpdatesConfig#connectRate()} and {@link UpdatesConfig#connectBurst()}), since each costs a
 * snapshot. Only connections with a valid key count, so nobody can use up an application's
 * allowance without its key. An entry lives while its application has connections or its bucket is
 * not full. Thread-safe.
 */
final class ConnectionLimits {
  private static final class Entry {
    int open;
    double tokens;
    long refilledAt;
  }

  private final int maxOpen;
  private final double rate;
  private final int burst;
  private final ConcurrentHashMap<Long, Entry> entries = new ConcurrentHashMap<>();

  ConnectionLimits(UpdatesConfig config) {
    this.maxOpen = config.maxConnectionsPerApp();
    this.rate = config.connectRate();
    this.burst = config.connectBurst();
  }

  /**
   * Counts a new connection of {@code appId}.
   *
   * @throws ProtocolException {@code TOO_MANY_APP_CONNECTIONS} or {@code TOO_MANY_APP_RECONNECTS}
   */
  void open(long appId, long nanos) {
    ErrorCode[] refused = new ErrorCode[1];
    entries.compute(
        appId,
        (k, e) -> {
          Entry x = e;
          if (x == null) {
            x = new Entry();
            x.tokens = burst;
            x.refilledAt = nanos;
          }
          x.tokens = Math.min(burst, x.tokens + (nanos - x.refilledAt) * rate / 1e9);
          x.refilledAt = nanos;
          if (x.open >= maxOpen) {
            refused[0] = ErrorCode.TOO_MANY_APP_CONNECTIONS;
          } else if (x.tokens < 1) {
            refused[0] = ErrorCode.TOO_MANY_APP_RECONNECTS;
          } else {
            x.tokens -= 1;
            x.open++;
          }
          return x;
        });
    if (refused[0] != null) {
      throw new ProtocolException(
          refused[0],
          refused[0] == ErrorCode.TOO_MANY_APP_CONNECTIONS
              ? "at most " + maxOpen + " per node"
              : null);
    }
  }

  /** A connection of {@code appId} counted by {@link #open} ended. */
  void closed(long appId, long nanos) {
    entries.computeIfPresent(
        appId,
        (k, x) -> {
          x.open = Math.max(0, x.open - 1);
          double tokens = Math.min(burst, x.tokens + (nanos - x.refilledAt) * rate / 1e9);
          // Nothing to remember once no connection is open and the bucket would be full anyway.
          return x.open == 0 && tokens >= burst ? null : x;
        });
  }

  /** Connections of {@code appId} open now. */
  int open(long appId) {
    Entry e = entries.get(appId);
    return e == null ? 0 : e.open;
  }
}
