package org.presence.store.presence;

import java.time.Duration;
import java.util.Collection;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Healing on read (issue 13, section 4): a node that reads a user's state and finds a device owned
 * by a session of a node whose lease is gone releases it there and then (the {@code orphans} op of
 * the presence rules, atomic on the user, so of all the readers, sweepers and cleaners racing for
 * it one gets the changes) and hands the changes to {@link Released} to publish, once.
 *
 * <p>The live nodes come from the node registry, cached: a read whose owners' nodes are all in the
 * cache costs nothing more. The cache is reloaded in the background at most once per {@code
 * refresh} (the lease period), when a read finds it older than that. A stale cache never releases a
 * live node's device: a node missing from it is only a suspect, and is judged on a reload that
 * started after the read was sent (one registry call, shared by the reads waiting for it), since a
 * node renews its lease before it owns any device. A stale cache that still names a dead node only
 * delays the healing until the next reload.
 *
 * <p>No read judges a node dead while the node's liveness says no judging may be done ({@code
 * mayJudge}: the heartbeat failed, or worked again less than two beats ago, or found the node's own
 * lease had lapsed), nor on a registry answer that leaves this node out (its own lease has run out
 * in Redis though it renews it: the leases Redis holds are behind, an outage or a restore, and
 * another node missing from them may only not have renewed yet). Such reads heal nothing and show
 * what Redis holds.
 */
public final class ReadHealing {
  /** Where the changes of a healing read go: published to the user's apps, never failing. */
  @FunctionalInterface
  public interface Released {
    void released(String user, PresenceUpdate update);
  }

  private final Supplier<? extends CompletionStage<? extends Collection<String>>> alive;
  private final String self;
  private final long refreshNanos;
  private final Released released;
  private final LongSupplier millis;
  private final LongSupplier nanos;
  private final BooleanSupplier mayJudge;

  /**
   * The last loaded set of live nodes (with this node), when its load started ({@link #nanos}), and
   * whether the registry listed this node (else the leases are behind and judge nobody).
   */
  private record Live(Set<String> nodes, long startedNanos, boolean listedSelf) {}

  /** A load in flight and when it started. */
  private record Load(long startedNanos, CompletableFuture<Live> result) {}

  private volatile Live live;
  private final AtomicReference<Load> loading = new AtomicReference<>();

  /**
   * @param alive the registry's live nodes ({@code NodeRegistry::alive})
   * @param self this node, always alive to itself
   * @param refresh how long the cached set is used before a read reloads it (the lease period)
   * @param released where the changes go
   * @param millis the wall clock, epoch milliseconds (the {@code now} of the release)
   * @param nanos a monotonic clock ({@code System::nanoTime})
   * @param mayJudge whether this node may judge other nodes dead now ({@code
   *     NodeLiveness::mayJudgeDeaths}); while false, reads heal nothing
   */
  public ReadHealing(
      Supplier<? extends CompletionStage<? extends Collection<String>>> alive,
      String self,
      Duration refresh,
      Released released,
      LongSupplier millis,
      LongSupplier nanos,
      BooleanSupplier mayJudge) {
    this.alive = alive;
    this.self = self;
    this.refreshNanos = refresh.toNanos();
    this.released = released;
    this.millis = millis;
    this.nanos = nanos;
    this.mayJudge = mayJudge;
    this.live = new Live(Set.of(self), nanos.getAsLong() - refreshNanos - 1, true);
  }

  /** The monotonic time a read is sent at, to pass to {@link #liveSince}. */
  long now() {
    return nanos.getAsLong();
  }

  /** The wall clock time of a release. */
  long nowMillis() {
    return millis.getAsLong();
  }

  /**
   * Whether some of {@code owners} (the nodes of a user's owned devices) are not in the cached set:
   * suspects, to judge with {@link #liveSince}. Starts a background reload when the set is older
   * than the refresh period. No registry call is waited for. None while no node may be judged.
   */
  boolean suspects(Collection<String> owners) {
    if (!mayJudge.getAsBoolean()) {
      return false;
    }
    Live l = live;
    if (nanos.getAsLong() - l.startedNanos() > refreshNanos) {
      load(l.startedNanos());
    }
    return anyGone(owners, l.nodes());
  }

  /** Whether some of {@code owners} are neither in {@code liveNodes} nor this node. */
  boolean anyGone(Collection<String> owners, Collection<String> liveNodes) {
    for (String n : owners) {
      if (!n.equals(self) && !liveNodes.contains(n)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The live nodes as loaded by a registry call that started at or after {@code sentNanos}; empty
   * when no node may be judged dead on them: the registry left this node out, or this node's
   * liveness says no (asked once the answer is in).
   */
  CompletionStage<Optional<Set<String>>> liveSince(long sentNanos) {
    Live l = live;
    if (l.startedNanos() - sentNanos >= 0) {
      return CompletableFuture.completedFuture(judged(l));
    }
    Load current = loading.get();
    if (current != null && current.startedNanos() - sentNanos >= 0) {
      return current.result().thenApply(this::judged);
    }
    return load(sentNanos).thenApply(this::judged);
  }

  private Optional<Set<String>> judged(Live l) {
    return l.listedSelf() && mayJudge.getAsBoolean() ? Optional.of(l.nodes()) : Optional.empty();
  }

  /** A load started at or after {@code notBefore}: the one in flight if it is, else a new one. */
  private CompletableFuture<Live> load(long notBefore) {
    while (true) {
      Load current = loading.get();
      if (current != null && current.startedNanos() - notBefore >= 0) {
        return current.result();
      }
      long started = nanos.getAsLong();
      Load mine = new Load(started, new CompletableFuture<>());
      if (!loading.compareAndSet(current, mine)) {
        continue;
      }
      CompletionStage<? extends Collection<String>> call;
      try {
        call = alive.get();
      } catch (RuntimeException e) {
        call = CompletableFuture.failedFuture(e);
      }
      call.whenComplete(
          (nodes, e) -> {
            loading.compareAndSet(mine, null);
            if (e != null) {
              mine.result().completeExceptionally(e);
              return;
            }
            Set<String> set = new HashSet<>(nodes);
            boolean listedSelf = !set.add(self);
            Live loaded = new Live(Set.copyOf(set), started, listedSelf);
            Live before = live;
            if (loaded.startedNanos() - before.startedNanos() > 0) {
              live = loaded;
            }
            mine.result().complete(loaded);
          });
      return mine.result();
    }
  }

  /** Hands a healing read's changes over to be published. */
  void publish(String user, PresenceUpdate update) {
    released.released(user, update);
  }
}
