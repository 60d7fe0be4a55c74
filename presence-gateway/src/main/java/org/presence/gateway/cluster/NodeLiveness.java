package org.presence.gateway.cluster;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import dev.failsafe.Execution;
import dev.failsafe.RetryPolicy;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.presence.gateway.config.ClusterConfig;
import org.presence.gateway.device.DeviceChannel;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.retry.RetryWaits;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.cluster.NodeRegistry;
import org.presence.store.config.StoreConfig;
import org.presence.store.error.Causes;
import org.presence.store.error.StartupException;
import org.presence.store.presence.PresenceStateStore;
import org.presence.store.presence.PresenceStateStore.OwnedDevice;
import org.presence.store.presence.ReadHealing;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this node's lease in the {@link NodeRegistry} and cleans up after dead nodes.
 *
 * <ul>
 *   <li>Every {@link ClusterConfig#heartbeatInterval()} the node renews its lease, then looks for
 *       nodes whose lease ran out. For each, it tries to {@linkplain NodeRegistry#claim claim} the
 *       clean-up; the one survivor that wins releases the dead node's devices (those still owned by
 *       its sessions: a device that reconnected elsewhere belongs to its new session) and publishes
 *       the real changes. A release is atomic and only for the owner, so even two cleaners could
 *       not publish a change twice. A clean-up that fails (Redis gone) is retried on a later beat,
 *       once the node's retry policy ({@link RetryWaits}: a beat, doubling up to eight, with
 *       jitter) has waited; one whose cleaner dies is claimed by another survivor once the
 *       cleaner's own lease has run out.
 *   <li>After its own heartbeats failed (Redis unavailable), or after a heartbeat that finds the
 *       node's own lease had run out meanwhile ({@link NodeRegistry.Renewal#LAPSED}: Redis was out
 *       of reach longer than a lease without this node sending anything then, or came back with
 *       older data), the node judges nobody for two beats after they work again: every live node
 *       renews within one beat, and a node must not mistake a cluster-wide outage for deaths. That
 *       one rule ({@link #mayJudgeDeaths}) holds for every path that judges: the heartbeat's
 *       clean-up, the sweep and the reads that heal; the sweep and the reads also judge nobody on a
 *       list of live nodes that leaves this node out (its lease in Redis is behind, so may be the
 *       others').
 *   <li>A heartbeat that finds the node was declared dead (it was frozen, or cut off from Redis,
 *       for longer than the lease) ends every device session here with {@link
 *       ErrorCode#SESSION_ABORTED}: the survivors marked those devices offline, and they are seen
 *       again once they reconnect.
 *   <li>At start, before the port opens, the node deals with devices still listed under its own id
 *       (a previous run with the same {@code node-id}): those of a run that crashed are released at
 *       once; those of a run that drained are left to come back, as the survivors would leave them,
 *       and the ones still owned by its sessions once its lease from the drain has run out are
 *       released then ({@link #previousRun}).
 *   <li>Every {@link ClusterConfig#sweepInterval()} the node that holds the cluster-wide lease
 *       {@value #SWEEP_LEASE} walks every user's presence in pages of {@link
 *       ClusterConfig#sweepBatch()} ({@link PresenceStateStore#sweep}) with the nodes alive at that
 *       page, and publishes what it released: devices of dead nodes go offline even when the dead
 *       node's index lost them (a write lost in a failover). The index above stays the fast path;
 *       the sweep is what makes presence not depend on it. The lease is renewed on every page, so
 *       one node sweeps at a time, and a sweeper that dies hands over once its lease runs out.
 *   <li>The heartbeat's look for dead nodes ({@link NodeRegistry#survey}) also finds the live nodes
 *       of a build before the lease hash (285b3212), in the gauge {@code
 *       presence_cluster_earlier_version_nodes}. While this node decides status updates itself
 *       ({@code store.redis.decide-on-node}, the default) and such nodes run, it warns, naming
 *       them, at once and then every {@link #EARLIER_VERSION_WARN_EVERY}: a build that is also
 *       before node decisions (263902fd) writes users' hashes without the write token a node's
 *       decision trusts (docs/cluster.md, "Upgrading to node decisions"). It warns only: it does
 *       not stop deciding by itself (cluster.md says why).
 *   <li>In a cluster, reads heal too ({@link PresenceStateStore#healOnRead}): a read of a user's
 *       state that finds a device of a node whose lease is gone releases it and publishes the
 *       changes through the same path as the sweep, with the live nodes cached for one lease.
 * </ul>
 */
public final class NodeLiveness implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(NodeLiveness.class);

  private final ClusterConfig config;
  private final String nodeId;
  private final NodeRegistry nodes;
  private final PresenceStateStore state;
  private final DeviceChannel devices;
  private final Clock clock;
  private final ScheduledExecutorService timer;

  /** Dead nodes this node claimed whose clean-up has not finished. */
  private final Map<String, CleanUp> cleaning = new ConcurrentHashMap<>();

  /** The waits between tries of a clean-up that fails: a beat, doubling up to eight beats. */
  private final RetryPolicy<Object> cleanUpRetry;

  /** A claimed dead node's clean-up: whether it is running, and its failures so far. */
  private static final class CleanUp {
    final AtomicBoolean running = new AtomicBoolean();

    /** The failed tries in a row, or null; read and written by the one running try. */
    volatile Execution<Object> failures;

    /** Not tried again before this time (the clock's milliseconds). */
    volatile long notBeforeMillis;
  }

  /** At most one warning of nodes of an earlier build per this while they run. */
  static final Duration EARLIER_VERSION_WARN_EVERY = Duration.ofMinutes(5);

  /** Whether this node decides status updates itself ({@code store.redis.decide-on-node}). */
  private boolean decidesOnNode;

  /** The live nodes of a build before the lease hash at the last look, {@link #earlierVersion}. */
  private volatile int earlierVersionNodes;

  /**
   * When (the clock's milliseconds) the next warning of nodes of an earlier build may be logged;
   * {@code Long.MIN_VALUE} while none was seen at the last look. Written by the one beat under way.
   */
  private volatile long nextEarlierWarnMillis = Long.MIN_VALUE;

  /** The cluster-wide lease of the presence sweep. */
  public static final String SWEEP_LEASE = "presence-sweep";

  private final AtomicBoolean beating = new AtomicBoolean();

  /**
   * The heartbeat under way (done once {@link #beating} is cleared); {@link #close} waits for it.
   */
  private volatile CompletableFuture<?> lastBeat = CompletableFuture.completedFuture(null);

  private final AtomicBoolean sweeping = new AtomicBoolean();
  private final Counter sweptReleased;
  private final Counter sweepFailures;
  private final Counter readHealed;
  private final Counter heartbeatFailures;
  private final Counter deadNodes;
  private final Counter drainedNodes;
  private final Counter released;
  private final Counter leaseLost;
  private volatile boolean leaseOk = true;
  private volatile long lastFailureMillis = Long.MIN_VALUE / 2;
  private volatile boolean closed;

  /** Whether other nodes share the store: {@link #close} then records a drain. */
  private boolean clustered;

  private NodeLiveness(
      ClusterConfig config,
      String nodeId,
      NodeRegistry nodes,
      PresenceStateStore state,
      DeviceChannel devices,
      GatewayMetrics metrics,
      Clock clock) {
    this.config = config;
    this.nodeId = nodeId;
    this.nodes = nodes;
    this.state = state;
    this.devices = devices;
    this.clock = clock;
    Duration beat = config.heartbeatInterval();
    this.cleanUpRetry = RetryWaits.backoff(beat, beat.multipliedBy(8)).build();
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "cluster-lease");
              t.setDaemon(true);
              return t;
            });
    var registry = metrics.registry();
    this.heartbeatFailures = registry.counter("presence.cluster.heartbeat_failures");
    this.deadNodes = registry.counter("presence.cluster.dead_nodes_cleaned");
    this.drainedNodes = registry.counter("presence.cluster.drained_nodes_cleaned");
    this.released = registry.counter("presence.cluster.devices_released");
    this.leaseLost = registry.counter("presence.cluster.lease_lost");
    this.sweptReleased = registry.counter("presence.cluster.sweep_users_released");
    this.sweepFailures = registry.counter("presence.cluster.sweep_failures");
    this.readHealed = registry.counter("presence.cluster.read_healed_users");
    registry.register("presence.cluster.lease_ok", (Gauge<Integer>) () -> leaseOk ? 1 : 0);
    registry.register(
        "presence.cluster.earlier_version_nodes", (Gauge<Integer>) () -> earlierVersionNodes);
  }

  /**
   * Takes the lease, releases what a previous run under this id left behind, and starts beating.
   * Runs at start-up (it waits for the store), before the node accepts connections.
   *
   * @param clustered whether other nodes share the store (Redis): a draining node then leaves its
   *     devices in their grace period to the survivors
   * @param decidesOnNode whether this node decides status updates itself ({@code
   *     store.redis.decide-on-node} in a cluster): it then warns while nodes of an earlier build
   *     run
   */
  public static NodeLiveness start(
      ClusterConfig config,
      String nodeId,
      NodeRegistry nodes,
      PresenceStateStore state,
      DeviceChannel devices,
      GatewayMetrics metrics,
      boolean clustered,
      boolean decidesOnNode) {
    return start(
        config,
        nodeId,
        nodes,
        state,
        devices,
        metrics,
        clustered,
        decidesOnNode,
        Clock.systemUTC());
  }

  /** {@link #start}, on {@code clock} (tests move it on). */
  static NodeLiveness start(
      ClusterConfig config,
      String nodeId,
      NodeRegistry nodes,
      PresenceStateStore state,
      DeviceChannel devices,
      GatewayMetrics metrics,
      boolean clustered,
      boolean decidesOnNode,
      Clock clock) {
    NodeLiveness l = new NodeLiveness(config, nodeId, nodes, state, devices, metrics, clock);
    l.clustered = clustered;
    l.decidesOnNode = decidesOnNode;
    try {
      nodes.heartbeat(nodeId, config.lease()).toCompletableFuture().get(10, TimeUnit.SECONDS);
      l.previousRun();
    } catch (Exception e) {
      l.timer.shutdownNow();
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      // The lease lives in the bus's store: Redis in a cluster, this process otherwise.
      throw new StartupException(
          clustered ? "store.redis.url" : "cluster.lease",
          "cannot take the node's lease: " + StoreConfig.redact(rootMessage(e)),
          e);
    }
    devices.service().leavePendingToCluster(clustered);
    if (clustered) {
      state.healOnRead(
          new ReadHealing(
              nodes::alive,
              nodeId,
              config.lease(),
              (user, update) -> {
                l.readHealed.inc();
                devices.service().publishReleased(user, update);
              },
              l.clock::millis,
              System::nanoTime,
              l::mayJudgeDeaths));
    }
    long every = config.heartbeatInterval().toMillis();
    l.timer.scheduleWithFixedDelay(l::beat, every, every, TimeUnit.MILLISECONDS);
    long sweepEvery = config.sweepInterval().toMillis();
    l.timer.scheduleWithFixedDelay(l::sweep, sweepEvery, sweepEvery, TimeUnit.MILLISECONDS);
    return l;
  }

  /**
   * Deals with the devices a previous run under this id left behind; at start, before the port
   * opens (none of them is this run's). A run that crashed: released now (its sessions are gone,
   * and nothing told its devices to move). A run that drained ({@link NodeRegistry#drained}): its
   * devices were told to reconnect and may be on their way, so they are left as the survivors would
   * leave them, and those still owned by the drained run's sessions once its lease from the drain
   * has run out are released then.
   */
  private void previousRun() throws Exception {
    var drained = nodes.takeDrained(nodeId).toCompletableFuture().get(10, TimeUnit.SECONDS);
    if (drained.isEmpty() || drained.getAsLong() <= 0) {
      int left = release(nodeId).toCompletableFuture().get(60, TimeUnit.SECONDS);
      if (left > 0) {
        LOG.info("released {} devices a previous run of node {} left behind", left, nodeId);
      }
      return;
    }
    List<OwnedDevice> left =
        state.devicesOn(nodeId).toCompletableFuture().get(60, TimeUnit.SECONDS);
    if (left.isEmpty()) {
      return;
    }
    long wait = drained.getAsLong();
    LOG.info(
        "a previous run of node {} drained: its {} devices that have not come back in {} ms, when"
            + " its lease runs out, are released then",
        nodeId,
        left.size(),
        wait);
    timer.schedule(() -> releaseDrained(left, null), wait, TimeUnit.MILLISECONDS);
  }

  /**
   * Releases the devices a drained previous run left ({@link #previousRun}) that are still owned by
   * its sessions; a device that came back belongs to its new session and stays. Tried again, at the
   * clean-ups' waits, while it fails.
   */
  private void releaseDrained(List<OwnedDevice> left, Execution<Object> failures) {
    if (closed) {
      return;
    }
    CompletionStage<Integer> run;
    try {
      run = releaseAll(left);
    } catch (RuntimeException e) {
      run = CompletableFuture.failedFuture(e);
    }
    run.whenComplete(
        (n, e) -> {
          if (e == null) {
            LOG.info(
                "released {} of the devices the drained previous run of node {} left behind",
                n,
                nodeId);
            return;
          }
          Execution<Object> f = failures == null ? Execution.of(cleanUpRetry) : failures;
          long wait = RetryWaits.next(f, e);
          LOG.warn(
              "release of what the drained previous run of node {} left failed (retrying in {}"
                  + " ms): {}",
              nodeId,
              wait,
              rootMessage(e));
          try {
            timer.schedule(() -> releaseDrained(left, f), wait, TimeUnit.MILLISECONDS);
          } catch (RejectedExecutionException stopped) {
            // Closed meanwhile: a survivor releases them once this run's lease runs out.
          }
        });
  }

  /** Whether the last heartbeat reached the registry. */
  public boolean leaseOk() {
    return leaseOk;
  }

  /**
   * Whether this node may judge other nodes dead now: its last heartbeat worked, and its last
   * failed one (or one that found its own lease lapsed) is at least two beats old. Every path that
   * releases another node's devices asks.
   */
  public boolean mayJudgeDeaths() {
    return !closed
        && leaseOk
        && clock.millis() - lastFailureMillis >= 2 * config.heartbeatInterval().toMillis();
  }

  private void beat() {
    if (closed || !beating.compareAndSet(false, true)) {
      return;
    }
    CompletionStage<NodeRegistry.Renewal> hb;
    try {
      hb = nodes.renew(nodeId, config.lease());
    } catch (RuntimeException e) {
      hb = CompletableFuture.failedFuture(e);
    }
    lastBeat =
        hb.thenCompose(
                renewal -> {
                  if (!leaseOk) {
                    LOG.info("node {}: heartbeat works again", nodeId);
                  }
                  leaseOk = true;
                  if (renewal == NodeRegistry.Renewal.LAPSED) {
                    lastFailureMillis = clock.millis();
                    LOG.warn(
                        "node {}: its lease had run out in the registry before this heartbeat (Redis"
                            + " out of reach or restored from older data): judging no node dead for two"
                            + " beats",
                        nodeId);
                  }
                  if (renewal == NodeRegistry.Renewal.JOINED) {
                    leaseLost.inc();
                    int n =
                        devices
                            .registry()
                            .abortAll(ErrorCode.SESSION_ABORTED, "this node was declared dead");
                    LOG.warn(
                        "node {} was declared dead by the cluster (no heartbeat for {}): ended its {}"
                            + " device sessions so that they reconnect",
                        nodeId,
                        config.lease(),
                        n);
                  }
                  return mayJudgeDeaths() ? scan() : CompletableFuture.completedFuture(null);
                })
            .whenComplete(
                (v, e) -> {
                  if (e != null) {
                    heartbeatFailures.inc();
                    lastFailureMillis = clock.millis();
                    if (leaseOk) {
                      LOG.warn("node {}: heartbeat failed: {}", nodeId, rootMessage(e));
                    }
                    leaseOk = false;
                  }
                  beating.set(false);
                })
            .toCompletableFuture();
  }

  /**
   * Claims the dead nodes nobody claimed yet, and cleans up after those claimed; notes the nodes of
   * an earlier build the same look found ({@link #earlierVersion}).
   */
  private CompletionStage<Void> scan() {
    return nodes
        .survey()
        .thenCompose(
            survey -> {
              earlierVersion(survey.earlierVersion());
              List<CompletableFuture<Void>> work = new ArrayList<>();
              for (String id : survey.expired()) {
                if (!id.equals(nodeId) && !cleaning.containsKey(id)) {
                  work.add(
                      nodes
                          .claim(id, nodeId)
                          .thenCompose(
                              won -> won ? claimed(id) : CompletableFuture.completedStage(null))
                          .toCompletableFuture());
                }
              }
              return CompletableFuture.allOf(work.toArray(CompletableFuture[]::new));
            })
        .thenRun(
            () ->
                cleaning.forEach(
                    (id, c) -> {
                      if (clock.millis() >= c.notBeforeMillis
                          && c.running.compareAndSet(false, true)) {
                        cleanUp(id, c);
                      }
                    }));
  }

  /**
   * Starts the clean-up after {@code id}, whose clean-up this node just claimed, and reports it: a
   * node that {@linkplain NodeRegistry#drainedBefore drained} and did not come back left on purpose
   * (INFO, {@code presence.cluster.drained_nodes_cleaned}); any other is dead (WARN, {@code
   * presence.cluster.dead_nodes_cleaned}). The clean-up is the same, and starts even when the
   * registry cannot say which.
   */
  private CompletionStage<Void> claimed(String id) {
    cleaning.putIfAbsent(id, new CleanUp());
    return nodes
        .drainedBefore(id)
        .exceptionally(e -> false)
        .thenAccept(
            drained -> {
              if (drained) {
                drainedNodes.inc();
                LOG.info(
                    "node {} drained and did not come back within its lease ({}): releasing the"
                        + " devices it left",
                    id,
                    config.lease());
              } else {
                deadNodes.inc();
                LOG.warn("node {} is dead (no heartbeat for {}): cleaning up", id, config.lease());
              }
            });
  }

  /**
   * Counts the live nodes of a build before the lease hash ({@code earlier}, from the heartbeat's
   * look) in the gauge and, while this node decides on node, warns of them: at once when they
   * appear, then at most every {@link #EARLIER_VERSION_WARN_EVERY} while they run.
   */
  private void earlierVersion(List<String> earlier) {
    List<String> others = earlier.stream().filter(id -> !id.equals(nodeId)).sorted().toList();
    earlierVersionNodes = others.size();
    if (!decidesOnNode) {
      return;
    }
    if (others.isEmpty()) {
      if (nextEarlierWarnMillis != Long.MIN_VALUE) {
        LOG.info("node {}: no node of a build before 285b3212 runs any more", nodeId);
      }
      nextEarlierWarnMillis = Long.MIN_VALUE;
      return;
    }
    long now = clock.millis();
    if (now < nextEarlierWarnMillis) {
      return;
    }
    nextEarlierWarnMillis = now + EARLIER_VERSION_WARN_EVERY.toMillis();
    LOG.warn(
        "node {}: nodes {} run a build before 285b3212 (alive by the earlier lease key alone) while"
            + " this node decides status updates itself (store.redis.decide-on-node = true). If"
            + " such a build is also before 263902fd (node decisions), it writes users' presence"
            + " without the write token this node's decisions trust, and applications can be told"
            + " a presence that is not the user's; a build from 263902fd keeps the token. Run the"
            + " nodes of this build with store.redis.decide-on-node = false until no earlier build"
            + " runs (docs/cluster.md, \"Upgrading to node decisions\"). Said again every {}"
            + " minutes while they run",
        nodeId,
        others,
        EARLIER_VERSION_WARN_EVERY.toMinutes());
  }

  private void cleanUp(String id, CleanUp c) {
    release(id)
        .thenCompose(n -> state.forgetNode(id).thenApply(v -> n))
        .thenCompose(n -> nodes.cleaned(id, nodeId).thenApply(v -> n))
        .whenComplete(
            (n, e) -> {
              if (e != null) {
                if (c.failures == null) {
                  c.failures = Execution.of(cleanUpRetry);
                }
                long wait = RetryWaits.next(c.failures, e);
                c.notBeforeMillis = clock.millis() + wait;
                LOG.warn(
                    "clean-up after node {} failed (retrying in {} ms or later): {}",
                    id,
                    wait,
                    rootMessage(e));
                c.running.set(false);
              } else {
                cleaning.remove(id);
                LOG.info("node {}: released {} of its devices", id, n);
              }
            });
  }

  /** Releases every device listed under {@code node}; the number this call released. */
  private CompletionStage<Integer> release(String node) {
    return state.devicesOn(node).thenCompose(this::releaseAll);
  }

  /**
   * Releases each of {@code list} still owned by the session named; the number this call released.
   */
  private CompletionStage<Integer> releaseAll(List<OwnedDevice> list) {
    List<CompletableFuture<Boolean>> all = new ArrayList<>(list.size());
    for (OwnedDevice d : list) {
      all.add(
          devices.service().releaseOrphan(d.user(), d.device(), d.session()).toCompletableFuture());
    }
    return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
        .thenApply(
            v -> {
              int n = (int) all.stream().filter(CompletableFuture::join).count();
              released.inc(n);
              return n;
            });
  }

  /**
   * One sweep, if this node holds the sweep lease and {@linkplain #mayJudgeDeaths may judge}: its
   * pages one after the other.
   */
  private void sweep() {
    if (!mayJudgeDeaths() || !sweeping.compareAndSet(false, true)) {
      return;
    }
    CompletionStage<Void> run;
    try {
      run = page("0");
    } catch (RuntimeException e) {
      run = CompletableFuture.failedFuture(e);
    }
    run.whenComplete(
        (v, e) -> {
          if (e != null) {
            sweepFailures.inc();
            LOG.warn(
                "presence sweep stopped (next one in {}): {}",
                config.sweepInterval(),
                rootMessage(e));
          }
          sweeping.set(false);
        });
  }

  /**
   * Renews the sweep lease (stopping when another node holds it), reads the live nodes and sweeps
   * the page at {@code cursor}, publishes what it released, then goes on with the next page. Stops
   * when this node may not judge deaths now, or the live nodes leave it out (their leases in Redis
   * are behind).
   */
  private CompletionStage<Void> page(String cursor) {
    if (closed) {
      return CompletableFuture.completedFuture(null);
    }
    return nodes
        .holdLease(SWEEP_LEASE, nodeId, config.sweepInterval().multipliedBy(2))
        .thenCompose(
            held -> {
              if (!held) {
                return CompletableFuture.completedFuture(null);
              }
              return nodes
                  .alive()
                  .thenCompose(
                      live -> {
                        if (!live.contains(nodeId) || !mayJudgeDeaths()) {
                          return CompletableFuture.completedFuture(null);
                        }
                        return state
                            .sweep(cursor, config.sweepBatch(), live, clock.millis())
                            .thenCompose(this::publishPage);
                      });
            });
  }

  /** Publishes what a sweep page released, then sweeps the next page. */
  private CompletionStage<Void> publishPage(PresenceStateStore.SweepPage p) {
    List<CompletableFuture<Void>> published = new ArrayList<>();
    for (PresenceStateStore.Released r : p.released()) {
      published.add(devices.service().publishReleased(r.user(), r.update()).toCompletableFuture());
    }
    if (!p.released().isEmpty()) {
      sweptReleased.inc(p.released().size());
      LOG.info("presence sweep: released devices of dead nodes for {} users", p.released().size());
    }
    return CompletableFuture.allOf(published.toArray(CompletableFuture[]::new))
        .thenCompose(
            v -> p.done() ? CompletableFuture.<Void>completedFuture(null) : page(p.cursor()));
  }

  private static String rootMessage(Throwable e) {
    return String.valueOf(Causes.innermost(e).getMessage());
  }

  /**
   * Stops beating. The lease is not given up: in a cluster, what this node still holds (devices in
   * their grace period) is released by a survivor once the lease runs out. In a cluster the node
   * also records that it drained ({@link NodeRegistry#drained}), after its last renewal, so that a
   * run restarted under its id before the lease runs out leaves those devices as the survivors
   * would.
   */
  @Override
  public void close() {
    closed = true;
    timer.shutdownNow();
    if (!clustered) {
      return;
    }
    try {
      // A renewal still under way would move the lease past the time recorded. Once the timer has
      // stopped, no beat starts, and the last one's future is the one to wait for.
      timer.awaitTermination(2, TimeUnit.SECONDS);
      try {
        lastBeat.get(2, TimeUnit.SECONDS);
      } catch (ExecutionException | TimeoutException e) {
        // Failed (its failure is logged and counted) or hung: recorded either way.
      }
      nodes.drained(nodeId).toCompletableFuture().get(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      LOG.warn(
          "node {}: could not record its drain (a run restarted under its id releases its devices"
              + " at start): {}",
          nodeId,
          rootMessage(e));
    }
  }
}
