package org.presence.gateway.cluster;

import com.codahale.metrics.Counter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
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
import org.presence.store.db.SignInRetention;
import org.presence.store.push.ClientMappingRepository;
import org.presence.store.push.JdbiClientMappingRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes what users and devices that never come back leave behind (docs/operations.md, data
 * retention): revoked PUIDs' tombstones, push presence ids nobody tied or reported for, (without
 * Redis, whose queues expire by themselves) idle notification queues and revoked paired devices,
 * each past its retention; and at once what serves nothing any more: expired page sessions,
 * unfinished OpenID Connect sign-ins and pairing requests, remembered refresh tokens past {@link
 * SignInRetention#ROTATED_TOKENS_KEPT}, and the grant lock rows of users without a grant.
 *
 * <p>Every {@link RetentionConfig#sweepInterval()} the node that holds the cluster-wide lease
 * {@value #LEASE} (taken for twice the interval, so one node sweeps at a time and another takes
 * over when it dies) deletes each kind in batches of {@link RetentionConfig#sweepBatch()} rows,
 * oldest first, until a batch comes back short or {@value #MAX_BATCHES} batches went; the grant
 * lock rows, which have no age, a batch of users at a time in {@code user_sub} order, each batch on
 * from where the last one stopped (in this sweep or the one before), until the table's end or
 * {@value #MAX_BATCHES} batches. Each delete re-checks its condition on the row, so nothing written
 * after the cutoff goes, and two nodes sweeping at once (a lease that ran out mid-sweep) only
 * repeat work.
 */
public final class RetentionSweep implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RetentionSweep.class);

  /** The cluster-wide lease of the sweep. */
  public static final String LEASE = "retention-sweep";

  /** Most batches of one kind per sweep: a backlog is worked off over several sweeps. */
  static final int MAX_BATCHES = 100;

  /** What the sweep deletes, in the order it does; each counted in {@code presence.retention.}. */
  public enum Kind {
    REVOKED_PUIDS("revoked_puids", "revoked PUIDs"),
    CLIENT_MAPPINGS("client_mappings", "push presence ids"),
    NOTIFICATION_QUEUES("notification_queues", "notification queues"),
    WEB_SESSIONS("web_sessions", "expired page sessions"),
    OIDC_LOGINS("oidc_logins", "unfinished sign-ins"),
    DEVICE_AUTHORIZATIONS("device_authorizations", "expired pairing requests"),
    PAIRED_DEVICES("paired_devices", "revoked paired devices"),
    ROTATED_TOKENS("paired_device_rotated_tokens", "remembered refresh tokens"),
    GRANT_OWNERS("grant_owners", "grant lock rows");

    private final String metric;
    private final String shown;

    Kind(String metric, String shown) {
      this.metric = metric;
      this.shown = shown;
    }

    /** The counter of what this kind's deletes removed. */
    public String counter() {
      return "presence.retention." + metric + "_deleted";
    }
  }

  /** What one sweep deleted, by kind (every kind present). */
  public record Deleted(Map<Kind, Integer> counts) {
    public Deleted {
      counts = Map.copyOf(counts);
    }

    int total() {
      return counts.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** The kinds of which something was deleted, with how many. */
    Map<Kind, Integer> nonZero() {
      Map<Kind, Integer> m = new EnumMap<>(Kind.class);
      counts.forEach(
          (k, n) -> {
            if (n > 0) {
              m.put(k, n);
            }
          });
      return m;
    }
  }

  /** What one delete did: how many rows went, and whether another batch may find more. */
  private record Batch(int deleted, boolean more) {}

  /** One kind's delete: at most a batch of rows past a cutoff. */
  private record Step(
      Kind kind, Instant before, BiFunction<Instant, Integer, CompletionStage<Batch>> delete) {
    /** A delete of the rows past the cutoff, oldest first: a full batch may leave more. */
    static Step oldestFirst(
        Kind kind,
        Instant before,
        BiFunction<Instant, Integer, CompletionStage<Integer>> delete,
        int batch) {
      return new Step(
          kind, before, (b, n) -> delete.apply(b, n).thenApply(d -> new Batch(d, d >= batch)));
    }
  }

  private final RetentionConfig config;
  private final String nodeId;
  private final Store store;
  private final ClientMappingRepository clientMappings;
  private final SignInRetention signIns;
  private final NodeRegistry nodes;
  private final Clock clock;
  private final Map<Kind, Counter> deletedCounters = new EnumMap<>(Kind.class);
  private final Counter failures;
  private final AtomicBoolean sweeping = new AtomicBoolean();

  /**
   * The last user whose grant lock row the sweep looked at: the next batch starts after it, in this
   * sweep or the next one ({@code ""}: at the start of the table). Read and written by one sweep at
   * a time ({@link #sweeping}).
   */
  private volatile String ownersAfter = "";

  private ScheduledExecutorService timer;

  RetentionSweep(
      RetentionConfig config, String nodeId, Store store, GatewayMetrics metrics, Clock clock) {
    this.config = config;
    this.nodeId = nodeId;
    this.store = store;
    this.clientMappings = new JdbiClientMappingRepository(store.persistence().db());
    this.signIns = new SignInRetention(store.persistence().db());
    this.nodes = store.nodes();
    this.clock = clock;
    var registry = metrics.registry();
    for (Kind k : Kind.values()) {
      deletedCounters.put(k, registry.counter(k.counter()));
    }
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
                StringBuilder what = new StringBuilder();
                d.nonZero()
                    .forEach(
                        (k, n) ->
                            what.append(what.length() == 0 ? "" : ", ")
                                .append(n)
                                .append(' ')
                                .append(k.shown));
                LOG.info("retention sweep: deleted {}", what);
              }
            });
  }

  private CompletionStage<Deleted> sweepHeld() {
    Instant now = clock.instant();
    var grants = store.persistence().grants();
    var queues = store.notifications();
    int batch = config.sweepBatch();
    List<Step> steps =
        List.of(
            Step.oldestFirst(
                Kind.REVOKED_PUIDS, now.minus(config.revokedPuids()), grants::purgeRevoked, batch),
            Step.oldestFirst(
                Kind.CLIENT_MAPPINGS,
                now.minus(config.clientMappings()),
                clientMappings::purgeUnused,
                batch),
            Step.oldestFirst(
                Kind.NOTIFICATION_QUEUES,
                now.minus(config.notificationQueues()),
                queues::expireIdle,
                batch),
            Step.oldestFirst(Kind.WEB_SESSIONS, now, signIns::expiredWebSessions, batch),
            Step.oldestFirst(Kind.OIDC_LOGINS, now, signIns::expiredOidcLogins, batch),
            Step.oldestFirst(
                Kind.DEVICE_AUTHORIZATIONS, now, signIns::expiredDeviceAuthorizations, batch),
            Step.oldestFirst(
                Kind.PAIRED_DEVICES,
                now.minus(config.revokedDevices()),
                signIns::revokedDevices,
                batch),
            Step.oldestFirst(
                Kind.ROTATED_TOKENS,
                now.minus(SignInRetention.ROTATED_TOKENS_KEPT),
                signIns::rotatedTokens,
                batch),
            new Step(Kind.GRANT_OWNERS, now, (before, n) -> grantOwners(n)));
    return steps(steps, 0, new EnumMap<>(Kind.class)).thenApply(Deleted::new);
  }

  /**
   * The lock rows of users without a grant among the next {@code n} users after {@link
   * #ownersAfter}, which then moves on (back to the start once the table's end is reached): every
   * user is looked at once per walk of the table, whatever is deleted.
   */
  private CompletionStage<Batch> grantOwners(int n) {
    return signIns
        .grantOwnersWithoutGrants(ownersAfter, n)
        .thenApply(
            b -> {
              ownersAfter = b.next() == null ? "" : b.next();
              return new Batch(b.deleted(), b.next() != null);
            });
  }

  /** Runs {@code steps} from {@code i} on, one kind after the other, counting what each deleted. */
  private CompletionStage<Map<Kind, Integer>> steps(
      List<Step> steps, int i, Map<Kind, Integer> deleted) {
    if (i == steps.size()) {
      return CompletableFuture.completedFuture(deleted);
    }
    Step step = steps.get(i);
    return batches(step.delete(), step.before(), config.sweepBatch(), 0, 0)
        .thenCompose(
            n -> {
              deletedCounters.get(step.kind()).inc(n);
              deleted.put(step.kind(), n);
              return steps(steps, i + 1, deleted);
            });
  }

  /**
   * Deletes batch after batch until one says there is no more (a short one, or the end of the grant
   * lock rows) or {@link #MAX_BATCHES} went.
   */
  private static CompletionStage<Integer> batches(
      BiFunction<Instant, Integer, CompletionStage<Batch>> delete,
      Instant before,
      int batch,
      int done,
      int deleted) {
    return delete
        .apply(before, batch)
        .thenCompose(
            b ->
                !b.more() || done + 1 >= MAX_BATCHES
                    ? CompletableFuture.completedFuture(deleted + b.deleted())
                    : batches(delete, before, batch, done + 1, deleted + b.deleted()));
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
