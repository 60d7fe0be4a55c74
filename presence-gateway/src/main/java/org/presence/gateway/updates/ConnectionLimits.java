package org.presence.gateway.updates;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.presence.gateway.config.UpdatesConfig;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.limit.ClockedBucket;
import org.presence.store.limit.ConnectionCounts;

/**
 * The per-application limits on update connections: how many may be open across the deployment
 * ({@link UpdatesConfig#maxConnectionsPerApp()}, counted by {@link ConnectionCounts}: in Redis in a
 * cluster, where a dead node's connections drop out of the count with its lease) and how fast new
 * ones may be opened on this node (a Bucket4j token bucket per application, {@link
 * UpdatesConfig#connectRate()} and {@link UpdatesConfig#connectBurst()}), since each costs a
 * snapshot. Only connections with a valid key count, so nobody can use up an application's
 * allowance without its key. A bucket is dropped once unused for as long as it takes to fill up
 * again (at most 100,000 are kept); this node's own count of an application lives while it has
 * connections here. Thread-safe.
 */
final class ConnectionLimits {
  private static final int MAX_APPS = 100_000;

  private final int maxOpen;
  private final double rate;
  private final int burst;
  private final ConnectionCounts counts;
  private final ConcurrentHashMap<Long, Integer> here = new ConcurrentHashMap<>();
  private final Cache<Long, ClockedBucket> buckets;

  ConnectionLimits(UpdatesConfig config, ConnectionCounts counts) {
    this.maxOpen = config.maxConnectionsPerApp();
    this.rate = config.connectRate();
    this.burst = config.connectBurst();
    this.counts = counts;
    long refillSeconds = (long) Math.ceil(burst / rate);
    this.buckets =
        Caffeine.newBuilder()
            .maximumSize(MAX_APPS)
            .expireAfterAccess(Duration.ofSeconds(Math.max(1, refillSeconds)))
            .build();
  }

  /**
   * Counts a new connection of {@code appId}; fails with a {@link ProtocolException} {@code
   * TOO_MANY_APP_CONNECTIONS} (checked first) or {@code TOO_MANY_APP_RECONNECTS}.
   */
  CompletionStage<Void> open(long appId, long nanos) {
    return counts
        .open(appId, maxOpen)
        .thenApply(
            counted -> {
              if (!counted) {
                throw new ProtocolException(
                    ErrorCode.TOO_MANY_APP_CONNECTIONS, "at most " + maxOpen + " per application");
              }
              ClockedBucket b = buckets.get(appId, k -> new ClockedBucket(rate, burst, nanos));
              if (!b.tryTake(nanos)) {
                counts.closed(appId);
                throw new ProtocolException(ErrorCode.TOO_MANY_APP_RECONNECTS, null);
              }
              here.merge(appId, 1, Integer::sum);
              return null;
            });
  }

  /** A connection of {@code appId} counted by {@link #open} ended. */
  void closed(long appId, long nanos) {
    here.computeIfPresent(appId, (k, n) -> n <= 1 ? null : n - 1);
    counts.closed(appId);
  }

  /** Connections of {@code appId} open on this node now. */
  int open(long appId) {
    return here.getOrDefault(appId, 0);
  }
}
