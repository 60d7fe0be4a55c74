package org.presence.store.cluster;

import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Which gateway nodes are alive. Each node renews a lease every few seconds; a node whose lease ran
 * out (killed, frozen, cut off) is dead, and exactly one survivor wins the right to clean up after
 * it (mark its devices offline), however many notice at once.
 *
 * <p>Two implementations: {@link LocalNodeRegistry} (one node: nobody else can die) and {@link
 * RedisNodeRegistry} (the cluster). One contract suite runs against both.
 */
public interface NodeRegistry {
  /**
   * Renews (or takes) {@code nodeId}'s lease for {@code lease}. True when the node was registered
   * already (its lease went on); false when it joins: its first heartbeat, or one after a survivor
   * declared it dead and cleaned up after it (whatever it holds is then forgotten by the others).
   */
  CompletionStage<Boolean> heartbeat(String nodeId, Duration lease);

  /** What a {@linkplain #renew renewal} found. */
  enum Renewal {
    /** The lease went on: it ran when renewed. */
    CONTINUED,
    /**
     * The lease went on, but it had run out before this renewal, and nobody had cleaned up after
     * the node yet: the registry's leases are behind (a Redis outage longer than the lease, or a
     * Redis restored from older data) or the node was frozen. Other nodes' leases may be out of
     * date in the same way, so the caller judges nobody dead for a while.
     */
    LAPSED,
    /** The node joins: {@link #heartbeat} said false. */
    JOINED
  }

  /**
   * {@link #heartbeat}, telling a lease that had run out before it was renewed ({@link
   * Renewal#LAPSED}) from one that ran on. This default (a registry that never lets a lease lapse
   * unnoticed) never answers {@code LAPSED}.
   */
  default CompletionStage<Renewal> renew(String nodeId, Duration lease) {
    return heartbeat(nodeId, lease).thenApply(c -> c ? Renewal.CONTINUED : Renewal.JOINED);
  }

  /**
   * The nodes that held a lease and let it run out, and are not being cleaned up by a live node.
   */
  CompletionStage<List<String>> expired();

  /**
   * What one look at the leases found: the {@linkplain #expired expired} nodes, and the live nodes
   * of the version before the lease hash ({@code earlierVersion}).
   */
  record Survey(List<String> expired, List<String> earlierVersion) {
    public Survey {
      expired = List.copyOf(expired);
      earlierVersion = List.copyOf(earlierVersion);
    }
  }

  /**
   * {@link #expired}, and from the same reading of the leases the members of the node set that are
   * alive by a lease of the version before the lease hash alone (its per-node key; no live field in
   * the hash): nodes of a build before the lease hash still running beside this one, during a
   * rolling upgrade or after one node was rolled back. A node of this version renews both forms, so
   * it is never listed. Meant for the heartbeat's periodic look ({@code NodeLiveness}), not for any
   * path a status change takes. This default (a registry no earlier version can share) lists none.
   */
  default CompletionStage<Survey> survey() {
    return expired().thenApply(dead -> new Survey(dead, List.of()));
  }

  /**
   * Claims the clean-up of dead node {@code deadNodeId} for {@code claimer}. True for exactly one
   * live caller at a time; false when the node is alive again or a live node claimed it. If the
   * claimer dies before it {@linkplain #cleaned reports the clean-up done}, the dead node is
   * {@linkplain #expired expired} again and another survivor may claim it.
   */
  CompletionStage<Boolean> claim(String deadNodeId, String claimer);

  /**
   * {@code claimer} finished cleaning up after {@code deadNodeId}: the dead node is forgotten
   * (unless it came back meanwhile).
   */
  CompletionStage<Void> cleaned(String deadNodeId, String claimer);

  /**
   * Records that {@code nodeId} drained: it stopped of its own will, its devices were told to
   * reconnect elsewhere, and it keeps its lease (survivors release what does not come back once it
   * runs out). The record holds the time at which the node's lease runs out and lasts until then
   * and {@link #DRAIN_KEPT} more (so that the survivor cleaning up can tell a drain from a crash,
   * {@link #drainedBefore}); a run of the node restarted under the same id {@linkplain #takeDrained
   * takes} it at start. This default (a registry no other process shares) records nothing.
   */
  default CompletionStage<Void> drained(String nodeId) {
    return CompletableFuture.completedFuture(null);
  }

  /**
   * Takes (reads and deletes) what {@link #drained} recorded for {@code nodeId}: the milliseconds
   * until the drained run's lease runs out, or empty when the previous run under this id did not
   * drain (it crashed, or never ran) or its lease has run out since. This default: empty.
   */
  default CompletionStage<OptionalLong> takeDrained(String nodeId) {
    return CompletableFuture.completedFuture(OptionalLong.empty());
  }

  /**
   * How long a {@linkplain #drained drain record} outlives the drained run's lease: long enough for
   * a survivor to find the lease run out and claim the clean-up, however late its beat.
   */
  Duration DRAIN_KEPT = Duration.ofHours(1);

  /**
   * Whether {@code nodeId}'s last run {@linkplain #drained drained} (its record is there, whether
   * or not its lease has run out), rather than crashing or being cut off: the survivor that claimed
   * its clean-up asks, to report a node that left on purpose as such rather than as a failure. This
   * default: false.
   */
  default CompletionStage<Boolean> drainedBefore(String nodeId) {
    return CompletableFuture.completedFuture(false);
  }

  /** Gives up {@code nodeId}'s lease at once (a node that drains cleanly). */
  CompletionStage<Void> leave(String nodeId);

  /**
   * The nodes holding a lease now. A caller that finds itself missing, though it renews its lease,
   * is reading leases that are behind (see {@link Renewal#LAPSED}) and must not take the others
   * missing for dead.
   */
  CompletionStage<List<String>> alive();

  /**
   * Takes or renews the cluster-wide lease {@code name} (a job one node at a time does, such as the
   * presence sweep) for {@code holder}, for {@code ttl}. True when {@code holder} holds it now;
   * false while another holder's lease runs.
   */
  CompletionStage<Boolean> holdLease(String name, String holder, Duration ttl);
}
