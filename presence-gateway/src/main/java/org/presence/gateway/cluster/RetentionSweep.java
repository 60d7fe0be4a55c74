package org.presence.gateway.cluster;

import com.codahale.metrics.Counter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiFunction;
import org.presence.gateway.config.RetentionConfig;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.store.Store;
import org.presence.store.cluster.NodeRegistry;
import org.presence.store.push.ClientMappingRepository;
import org.presence.store.push.JdbiClientMappingRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes what users and devices that never come back leave behind (docs/operations.md, data
 * retention): revoked PUIDs' tombstones, push presence ids nobody tied or reported for, and
 * (without Redis, whose queues expire by themselves) idle notification queues, each past its
 * retention.
 *
 * <p>Every {@link RetentionConfig#sweepInterval()} the node that holds the cluster-wide lease
 * {@value #LEASE} (taken for twice the interval, so one node sweeps at a time and another takes
 * over when it dies) deletes each kind in batches of {@link RetentionConfig#sweepBatch()} rows,
 * oldest first, until a batch comes back short or {@value #MAX_BATCHES} batches went. Each delete
 * re-checks its condition on the row, so nothing written after the cutoff goes, and two nodes
 * sweeping at once (a lease that ran out mid-sweep) only repeat work.
 */
public final class RetentionSweep implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RetentionSweep.class);

  /** The cluster-wide lease of the sweep. */
  public static final String LEASE = "retention-sweep";

  /** Most batches of one kind per sweep: a backlog is worked off over several sweeps. */
  static final int MAX_BATCHES = 100;

  /** What one sweep deleted, by kind. */
  public record Deleted(int revokedPuids, int clientMappings, int notificationQueues) {
    int total() {
      return revokedPuids + clientMappings + notificationQueues;
    }
  }

  private final RetentionConfig config;
  private final String nodeId;
  private final Store store;
  private final ClientMappingRepository clientMappings;
  private final NodeRegistry nodes;
  private final Clock clock;
  private final Counter revoked;
  private final Counter mappings;
  private final Counter queues;
  private final Counter failures;
  private final AtomicBoolean sweeping = new AtomicBoolean();
  private ScheduledExecutorService timer;

  RetentionSweep(
      RetentionConfig config, String nodeId, Store store, GatewayMetrics metrics, Clock clock) {
    this.config = config;
    this.nodeId = nodeId;
    this.store = store;
    this.clientMappings = new JdbiClientMappingRepository(store.persistence().db());
    this.nodes = store.nodes();
    this.clock = clock;
    var registry = metrics.registry();
    this.revoked = registry.counter("presence.retention.revoked_puids_deleted");
    this.mappings = registry.counter("presence.retention.client_mappings_deleted");
    this.queues = registry.counter("presence.retention.notification_queues_deleted");
    this.failures = registry.counter("presence.retention.sweep_failures");
  }

  /** Starts sweeping every {@link RetentionConfig#sweepInterval()}, the first one interval on. */
  public static RetentionSweep start(
      RetentionConfig config, String nodeId, Store store, GatewayMetrics metrics) {
    RetentionSweep s = new RetentionSweep(config, nodeId, store, metrics, Clock.systemUTC());
    s.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "retention-sweep");
              t.setDaemon(true);
              return t;
            });
    long every = config.sweepInterval().toMillis();
    s.timer.scheduleWithFixedDelay(s::sweepQuietly, every, every, TimeUnit.MILLISECONDS);
    return s;
  }

  private void sweepQuietly() {
    try {
      sweep().toCompletableFuture().join();
    } catch (RuntimeException e) {
      // Counted and logged by sweep().
    }
  }

  /**
   * One sweep, if this node holds (or takes) the lease: completes with what it deleted, or {@code
   * null} when another node holds the lease or a sweep of this node is still running.
   */
  CompletionStage<Deleted> sweep() {
    if (!sweeping.compareAndSet(false, true)) {
      return CompletableFuture.completedFuture(null);
    }
    return nodes
        .holdLease(LEASE, nodeId, config.sweepInterval().multipliedBy(2))
        .thenCompose(held -> held ? sweepHeld() : CompletableFuture.completedFuture(null))
        .whenComplete(
            (d, e) -> {
              sweeping.set(false);
              if (e != null) {
                failures.inc();
                LOG.warn(
                    "retention sweep stopped (next one in {}): {}",
                    config.sweepInterval(),
                    e.toString());
              } else if (d != null && d.total() > 0) {
                LOG.info(
                    "retention sweep: deleted {} revoked PUIDs, {} push presence ids, {}"
                        + " notification queues",
                    d.revokedPuids(),
                    d.clientMappings(),
                    d.notificationQueues());
              }
            });
  }

  private CompletionStage<Deleted> sweepHeld() {
    Instant now = clock.instant();
    int batch = config.sweepBatch();
    Instant revokedBefore = now.minus(config.revokedPuids());
    Instant mappingsBefore = now.minus(config.clientMappings());
    Instant queuesBefore = now.minus(config.notificationQueues());
    return batches(
            (b, n) -> store.persistence().grants().purgeRevoked(b, n), revokedBefore, batch, 0, 0)
        .thenCompose(
            r -> {
              revoked.inc(r);
              return batches(
                      (b, n) -> clientMappings.purgeUnused(b, n), mappingsBefore, batch, 0, 0)
                  .thenCompose(
                      m -> {
                        mappings.inc(m);
                        return batches(
                                (b, n) -> store.notifications().expireIdle(b, n),
                                queuesBefore,
                                batch,
                                0,
                                0)
                            .thenApply(
                                q -> {
                                  queues.inc(q);
                                  return new Deleted(r, m, q);
                                });
                      });
            });
  }

  /** Deletes batch after batch until one comes back short or {@link #MAX_BATCHES} went. */
  private static CompletionStage<Integer> batches(
      BiFunction<Instant, Integer, CompletionStage<Integer>> delete,
      Instant before,
      int batch,
      int done,
      int deleted) {
    return delete
        .apply(before, batch)
        .thenCompose(
            n ->
                n < batch || done + 1 >= MAX_BATCHES
                    ? CompletableFuture.completedFuture(deleted + n)
                    : batches(delete, before, batch, done + 1, deleted + n));
  }

  /** Stops sweeping (a sweep under way finishes its current delete). */
  @Override
  public void close() {
    if (timer != null) {
      timer.shutdownNow();
    }
  }

  /** How long after the last push a notification queue goes (tests). */
  Duration queueRetention() {
    return config.notificationQueues();
  }
}
