package org.presence.store.updates;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Each application's queue of presence updates, kept for {@link #RETENTION} (the wiki: "a status
 * message is dropped from the queue if not consumed within an hour"). Updates are numbered with
 * consecutive sequence numbers, increasing per application across nodes, so an app that comes back
 * with the last number it saw gets exactly what it missed, or learns that it must start over from a
 * fresh snapshot.
 *
 * <h2>Per-PUID guard</h2>
 *
 * For each (application, PUID) the log remembers, for the {@link #RETENTION}, the latest presence
 * version it took and whether the PUID is paused. It decides, atomically with the numbering:
 *
 * <ul>
 *   <li>a {@link AppUpdate.Kind#CHANGE} is dropped while the PUID is paused, and when its version
 *       is not newer than the last one taken (a user's changes made on two nodes may reach the log
 *       out of order; version 0 is never stale);
 *   <li>a {@link AppUpdate.Kind#PAUSE} is taken (and pauses the PUID) unless it is paused already;
 *       a node whose grant cache has not yet heard of the pause cannot slip a change in after it;
 *   <li>a {@link AppUpdate.Kind#RESUME} of a paused PUID unpauses it and is taken whatever its
 *       version, unless it says offline (the pause already said so); of a PUID that is not paused
 *       it is a change like any other.
 * </ul>
 *
 * Dropped updates get no number, so numbers stay consecutive.
 *
 * <p>Two implementations: {@link LocalAppUpdateLog} (in memory, the embedded default) and {@link
 * RedisAppUpdateLog} (the cluster). One contract suite runs against both.
 */
public interface AppUpdateLog {
  /** How long updates are kept. */
  Duration RETENTION = Duration.ofHours(1);

  /** What a read after a sequence number found. */
  enum Outcome {
    /** {@code updates} are the updates after {@code since} (the first {@code limit} of them). */
    OK,
    /** Updates after {@code since} were already dropped: the reader needs a fresh snapshot. */
    TOO_OLD,
    /** {@code since} is beyond the last number given out: the reader is confused or lying. */
    AHEAD
  }

  /**
   * The result of {@link #readSince}.
   *
   * @param outcome whether {@code updates} is the continuation after {@code since}
   * @param updates the updates after {@code since}, in order (empty unless {@code OK})
   * @param lastSeq the application's current position: reading from it gives every later update
   * @param more whether more updates follow the returned ones (read again from the last one)
   */
  record Read(Outcome outcome, List<AppUpdate> updates, long lastSeq, boolean more) {}

  /**
   * Appends updates for an application, numbering in order those the per-PUID guard keeps.
   * Completes with the numbered updates (the kept ones, in order) once stored.
   */
  CompletionStage<List<AppUpdate>> append(long appId, List<AppUpdate.New> updates);

  /**
   * Appends for several applications in one call (one Redis script call on the cluster), each
   * application's updates as {@link #append} would. Completes with the numbered updates by
   * application (every key of {@code byApp} is present). When {@link #publishesBatches}, each
   * application's kept updates are also published, atomically with the append, as one {@link
   * AppUpdateBatchCodec} message on its bus channel {@link AppUpdateBatchCodec#channel}.
   */
  default CompletionStage<Map<Long, List<AppUpdate>>> appendAll(
      Map<Long, List<AppUpdate.New>> byApp) {
    Map<Long, List<AppUpdate>> out = new ConcurrentHashMap<>();
    CompletableFuture<?>[] all =
        byApp.entrySet().stream()
            .map(
                e ->
                    append(e.getKey(), e.getValue())
                        .thenAccept(n -> out.put(e.getKey(), n))
                        .toCompletableFuture())
            .toArray(CompletableFuture[]::new);
    return CompletableFuture.allOf(all).thenApply(v -> out);
  }

  /**
   * Whether calls go over a connection (Redis), whose writes keep their order only when made from
   * one thread; the gateway's publisher ({@code org.presence.gateway.fanout.AppUpdatePublisher})
   * then calls from one.
   */
  default boolean remote() {
    return false;
  }

  /** Whether {@link #appendAll} publishes the batches on the bus itself. */
  default boolean publishesBatches() {
    return false;
  }

  /**
   * The slot group of {@code appId}: applications of one group can be appended in one {@link
   * #appendAll} call (on one Redis, all are one group; on a Redis Cluster a group is a slot).
   */
  default int slotGroup(long appId) {
    return 0;
  }

  /** The updates of {@code appId} after {@code since}, at most {@code limit} of them. */
  CompletionStage<Read> readSince(long appId, long since, int limit);

  /**
   * The application's current position: the last number given out, or, before any, the number its
   * log starts after. {@code readSince(lastSeq)} is always {@link Outcome#OK}.
   */
  CompletionStage<Long> lastSeq(long appId);
}
