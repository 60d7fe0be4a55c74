package org.presence.store.updates;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Each application's queue of presence updates, kept for {@link #RETENTION} (the wiki: "a status
 * message is dropped from the queue if not consumed within an hour"). Updates are numbered with
 * consecutive sequence numbers, increasing per application across nodes, so an app that comes
 * back with the last number it saw gets exactly what it missed, or learns that it must start over
 * from a fresh snapshot.
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
   * Appends updates for an application, numbering them in order. Completes with the numbered
   * updates once stored.
   */
  CompletionStage<List<AppUpdate>> append(long appId, List<AppUpdate.New> updates);

  /** The updates of {@code appId} after {@code since}, at most {@code limit} of them. */
  CompletionStage<Read> readSince(long appId, long since, int limit);

  /**
   * The application's current position: the last number given out, or, before any, the number
   * its log starts after. {@code readSince(lastSeq)} is always {@link Outcome#OK}.
   */
  CompletionStage<Long> lastSeq(long appId);
}
