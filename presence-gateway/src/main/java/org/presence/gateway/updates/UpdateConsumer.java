package org.presence.gateway.updates;

import io.netty.buffer.ByteBuf;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.presence.gateway.config.UpdatesConfig;
import org.presence.gateway.connection.OnEventLoop;
import org.presence.gateway.fanout.SnapshotReader;
import org.presence.protocol.app.AppFrames.Receipt;
import org.presence.protocol.app.AppFrames.SnapshotEntry;
import org.presence.protocol.app.AppFrames.Update;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.updates.AppUpdate;
import org.presence.store.updates.AppUpdateLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One update connection's delivery, without Netty: a snapshot, then every update after the
 * snapshot's number, in order, batched per flush; receipts as they come. The WebSocket and the
 * stream differ only in their {@link Sink}.
 *
 * <h2>Backpressure</h2>
 *
 * The consumer holds a cursor (the last update number delivered), not a queue. It writes only while
 * the connection is writable (Netty's write-buffer water marks), taking the updates after its
 * cursor from its application's {@link AppHub} buffer, or from the application's log when it fell
 * behind the buffer, and resumes when the connection drains. A consumer that stops reading thus
 * costs at most its socket's buffer; when it reads again it catches up from the log, or, if it fell
 * out of the log's hour, gets a fresh snapshot.
 *
 * <h2>Snapshot and updates</h2>
 *
 * The snapshot's number P is the log's position read <em>before</em> any user's state, so every
 * update after P is delivered after the snapshot and none is lost. An update after P may however
 * have been applied to the state before the snapshot read that user (the two race); it is then
 * already in the snapshot. For the updates appended while the snapshot was read, and any other
 * during {@link #OVERLAP_NANOS} after it, an update of a user is skipped until one that the
 * snapshot does not show arrives: one whose presence version is not newer than the snapshot's
 * entry, or that repeats it, or an offline update of a user the snapshot left out (offline). So the
 * application sees each change once.
 *
 * <p>All methods but {@link #wake} and {@link #offerReceipt} run on the connection's event loop.
 */
@OnEventLoop
final class UpdateConsumer implements UpdateFeed {
  private static final Logger LOG = LoggerFactory.getLogger(UpdateConsumer.class);

  /** How long after a snapshot updates are checked against it. */
  static final long OVERLAP_NANOS = TimeUnit.SECONDS.toNanos(10);

  /** Where a consumer writes: a WebSocket or a stream. Called on its event loop. */
  interface Sink extends UpdateSink {}

  /** What all consumers of a node share. */
  record Context(
      AppUpdateLog log, SnapshotReader snapshots, UpdatesConfig config, UpdateMetrics metrics) {}

  private static final class Snapshot {
    final long seq;
    final boolean fresh;
    String after = "";

    /** The next page, read while this one is written and sent; {@code null} before the first. */
    CompletionStage<SnapshotReader.Page> next;

    Snapshot(long seq, boolean fresh) {
      this.seq = seq;
      this.fresh = fresh;
    }
  }

  private final long appId;
  private final AppHub hub;
  private final Context ctx;
  private final UpdateSink sink;
  private final Predicate<String> puids;
  private final UpdateFormat format;
  private final String keyHash;
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private final ArrayDeque<Receipt> receipts = new ArrayDeque<>();
  private final Runnable pumpTask = this::scheduledPump;

  private volatile long cursor = -1;
  private volatile boolean closed;
  private boolean busy;
  private boolean stalled;

  /** From a snapshot's start until its last frame is written ({@link #snapshotting}). */
  private boolean snapshotting;

  private Snapshot snapshot;

  /**
   * What the last snapshot showed, for the overlap rule: from its first page until its window is
   * over ({@link #releaseOverlap}); {@code null} outside.
   */
  private SnapshotOverlap overlap;

  private long overlapUntil;

  /** Updates numbered up to this one were appended while the snapshot was read. */
  private long overlapSeq;

  /**
   * @param puids which PUIDs this consumer delivers ({@code null}: all); the demo page follows only
   *     its visitor's
   */
  UpdateConsumer(long appId, AppHub hub, Context ctx, Sink sink, Predicate<String> puids) {
    this(appId, hub, ctx, sink, puids, UpdateFormat.JSON, null);
  }

  /**
   * @param keyHash the hash of the API key the connection authenticated with, or {@code null}
   *     without a key: a connection whose key is no longer its application's ends (see {@link
   *     AppUpdates})
   */
  UpdateConsumer(
      long appId,
      AppHub hub,
      Context ctx,
      UpdateSink sink,
      Predicate<String> puids,
      UpdateFormat format,
      String keyHash) {
    this.appId = appId;
    this.hub = hub;
    this.ctx = ctx;
    this.sink = sink;
    this.puids = puids;
    this.format = format;
    this.keyHash = keyHash;
  }

  /** The hash of the API key the connection authenticated with, or {@code null}. */
  String keyHash() {
    return keyHash;
  }

  /** Starts with a snapshot; {@code fresh} when it replaces what the application had. */
  void startWithSnapshot(boolean fresh) {
    hub.add(this);
    beginSnapshot(fresh);
  }

  /** Starts with the updates after {@code since}, which the log said it still has. */
  void startAfter(long since) {
    hub.add(this);
    cursor = since;
    pump();
  }

  /**
   * Whether a snapshot is being read and written: from its start (the first one of a connection
   * started with a snapshot begins in {@link #startWithSnapshot}) until its last frame is written,
   * when the sink hears {@link UpdateSink#snapshotWritten}.
   */
  boolean snapshotting() {
    return snapshotting;
  }

  /** The last update number delivered (or covered by a snapshot); -1 before the first. */
  long cursor() {
    return cursor;
  }

  /** The connection's state, for tests and operators. */
  AppUpdates.ConsumerStats stats() {
    return new AppUpdates.ConsumerStats(
        cursor, sink.pendingBytes(), sink.writable(), queuedReceipts());
  }

  /** Receipts waiting to be written. */
  int queuedReceipts() {
    synchronized (receipts) {
      return receipts.size();
    }
  }

  /** Asks for a pump on the event loop; any thread. */
  void wake() {
    if (!closed && scheduled.compareAndSet(false, true)) {
      sink.executor().execute(pumpTask);
    }
  }

  private void scheduledPump() {
    scheduled.set(false);
    pump();
  }

  /** A receipt for the application; any thread. The oldest are dropped beyond the bound. */
  void offerReceipt(Receipt r) {
    if (closed || (puids != null && !puids.test(r.puid()))) {
      return;
    }
    synchronized (receipts) {
      if (receipts.size() >= ctx.config().receiptsBuffer()) {
        receipts.pollFirst();
        ctx.metrics().receiptsDropped().inc();
      }
      receipts.addLast(r);
    }
    wake();
  }

  /** Writes what there is while the connection is writable. Event loop. */
  @Override
  public void pump() {
    if (closed) {
      return;
    }
    if (!sink.writable()) {
      stall();
      return;
    }
    stalled = false;
    boolean wrote = writeReceipts();
    int max = ctx.config().maxBatch();
    while (!busy && sink.writable()) {
      if (snapshot != null) {
        snapshotStep();
        break;
      }
      if (cursor < 0) {
        break;
      }
      AppHub.Read r = hub.read(cursor, max);
      if (r.outcome() == AppHub.Outcome.ITEMS) {
        wrote |= deliver(r.updates());
      } else if (r.outcome() == AppHub.Outcome.BEHIND) {
        catchUp();
        break;
      } else {
        break;
      }
    }
    if (wrote) {
      sink.flush();
    }
    if (!sink.writable()) {
      // Stopped by the connection, not for want of updates: a stall, counted now rather than when
      // the next update wakes it (a burst that fills the socket may have no next update).
      stall();
    }
  }

  /** Counts a stall once until the connection is writable again. Event loop. */
  private void stall() {
    if (!stalled) {
      stalled = true;
      ctx.metrics().stalls().inc();
    }
  }

  private boolean writeReceipts() {
    List<Receipt> out;
    synchronized (receipts) {
      if (receipts.isEmpty()) {
        return false;
      }
      out = new ArrayList<>(receipts);
      receipts.clear();
    }
    send(out.size() * 96, b -> format.writeReceipts(out, b));
    ctx.metrics().receipts().inc(out.size());
    return true;
  }

  /** Writes the updates of {@code list} after the cursor; true when a frame went out. */
  private boolean deliver(List<AppUpdate> list) {
    List<Update> out = new ArrayList<>(list.size());
    long now = System.nanoTime();
    long[] taken = new long[list.size()];
    for (AppUpdate u : list) {
      if (u.seq() <= cursor) {
        continue;
      }
      cursor = u.seq();
      if (puids != null && !puids.test(u.puid())) {
        continue;
      }
      if (overlaps(u, now)) {
        ctx.metrics().skipped().inc();
        continue;
      }
      taken[out.size()] = u.at().toEpochMilli();
      out.add(new Update(u.puid(), u.status(), u.message(), u.seq()));
    }
    releaseOverlap();
    if (out.isEmpty()) {
      return false;
    }
    send(out.size() * 96, b -> format.writeUpdates(out, b));
    ctx.metrics().delivered().inc(out.size());
    long nowMillis = System.currentTimeMillis();
    for (int i = 0; i < out.size(); i++) {
      ctx.metrics().latency().updateDelivered(taken[i], nowMillis);
    }
    return true;
  }

  /** Whether {@code u} is already in the snapshot just sent (see the class comment). */
  private boolean overlaps(AppUpdate u, long now) {
    if (overlap == null) {
      return false;
    }
    if (u.seq() > overlapSeq && now - overlapUntil > 0) {
      overlap = null;
      return false;
    }
    return overlap.shows(u.puid(), u.status(), u.message(), u.version());
  }

  /**
   * Drops what the snapshot showed once its window is over: {@link #OVERLAP_NANOS} passed since it
   * was sent and every update appended while it was read was delivered. Run when the window ends
   * and after each delivery, so that a quiet application or a filtered connection does not keep it
   * until its next update.
   */
  private void releaseOverlap() {
    if (overlap != null
        && snapshot == null
        && cursor >= overlapSeq
        && System.nanoTime() - overlapUntil > 0) {
      overlap = null;
    }
  }

  /** What the last snapshot showed while its overlap window lasts, else {@code null}; tests. */
  SnapshotOverlap overlap() {
    return overlap;
  }

  private void catchUp() {
    ctx.metrics().logReads().inc();
    step(
        ctx.log().readSince(appId, cursor, ctx.config().maxBatch()),
        "the update log",
        "update log unavailable",
        read -> {
          if (read.outcome() != AppUpdateLog.Outcome.OK) {
            // Out of the hour the log keeps (or the log is younger than the cursor): start over.
            beginSnapshot(true);
            return;
          }
          if (deliver(read.updates())) {
            sink.flush();
          }
          pump();
        });
  }

  /**
   * Runs one asynchronous read of this connection: busy until it completes, then {@code next} on
   * the connection's executor unless the connection closed meanwhile; a failed read ends the
   * connection with {@code reason} (errno -10, the client reconnects).
   */
  private <T> void step(CompletionStage<T> read, String what, String reason, Consumer<T> next) {
    busy = true;
    read.whenCompleteAsync(
        (value, e) -> {
          busy = false;
          if (closed) {
            return;
          }
          if (e != null) {
            LOG.warn("app {}: cannot read {}: {}", appId, what, e.toString());
            sink.fail(ErrorCode.SESSION_ABORTED, reason);
            return;
          }
          next.accept(value);
        },
        sink.executor());
  }

  private void beginSnapshot(boolean fresh) {
    snapshotting = true;
    step(
        ctx.log().lastSeq(appId),
        "the update log",
        "update log unavailable",
        position -> {
          snapshot = new Snapshot(position, fresh);
          overlap = new SnapshotOverlap();
          overlapUntil = System.nanoTime() + Long.MAX_VALUE / 4;
          if (fresh) {
            ctx.metrics().freshSnapshots().inc();
          }
          ctx.metrics().snapshots().inc();
          pump();
        });
  }

  private void snapshotStep() {
    Snapshot s = snapshot;
    CompletionStage<SnapshotReader.Page> read =
        s.next != null ? s.next : ctx.snapshots().page(appId, s.after, ctx.config().snapshotPage());
    s.next = null;
    step(
        read,
        "a snapshot",
        "snapshot unavailable",
        page -> {
          if (!page.last()) {
            // The next page is read while this one is written and the client reads it.
            s.next = ctx.snapshots().page(appId, page.lastPuid(), ctx.config().snapshotPage());
          }
          List<SnapshotEntry> entries = new ArrayList<>();
          for (SnapshotReader.Entry en : page.entries()) {
            if (puids != null && !puids.test(en.puid())) {
              continue;
            }
            if (en.status() != PresenceStatus.OFFLINE) {
              entries.add(new SnapshotEntry(en.puid(), en.status(), en.message()));
              overlap.add(en.puid(), en.status(), en.message(), en.version());
            }
          }
          s.after = page.lastPuid();
          if (page.last()) {
            overlap.trim();
            // Finishing (busy) before the last frame is flushed: a flush the connection takes at
            // once makes it writable again and pumps from inside it, and that pump must not read
            // another page (an empty one, sent as a second done frame).
            finishSnapshot(s);
          }
          if (!entries.isEmpty() || page.last()) {
            send(
                64 + entries.size() * 96,
                b -> format.writeSnapshot(entries, s.seq, s.fresh, page.last(), b));
            sink.flush();
          }
          if (page.last()) {
            snapshotting = false;
            // Still busy (finishing): what the sink writes cannot start another snapshot step.
            sink.snapshotWritten();
            return;
          }
          pump();
        });
  }

  /**
   * The snapshot is sent: updates from its number on follow. Those appended while it was read (up
   * to the log's position now) are checked against it however late the connection reads them; later
   * ones for {@link #OVERLAP_NANOS} more (a change applied before the snapshot read its user may
   * reach the log a moment after).
   */
  private void finishSnapshot(Snapshot s) {
    // Completes on the executor, never inline: until then the consumer is busy.
    busy = true;
    ctx.log()
        .lastSeq(appId)
        .whenCompleteAsync(
            (position, e) -> {
              busy = false;
              if (closed) {
                return;
              }
              overlapSeq = e == null ? position : s.seq;
              snapshot = null;
              cursor = s.seq;
              overlapUntil = System.nanoTime() + OVERLAP_NANOS;
              // One nanosecond past the window, so that the release finds it over.
              sink.executor()
                  .schedule(this::releaseOverlap, OVERLAP_NANOS + 1, TimeUnit.NANOSECONDS);
              pump();
            },
            sink.executor());
  }

  private void send(int estimate, Consumer<ByteBuf> writer) {
    ByteBuf buf = sink.alloc().buffer(Math.min(estimate, 64 * 1024));
    try {
      writer.accept(buf);
    } catch (RuntimeException e) {
      buf.release();
      throw e;
    }
    ctx.metrics().frames().inc();
    sink.send(buf);
  }

  /**
   * Ends the connection with {@code code} (on its event loop) and stops; nothing when it already
   * ended. Any thread.
   */
  void end(ErrorCode code, String detail) {
    if (closed) {
      return;
    }
    close();
    sink.executor().execute(() -> sink.fail(code, detail));
  }

  /** The connection is gone; stops and leaves the hub. Any thread. */
  @Override
  public void close() {
    closed = true;
    hub.remove(this);
    synchronized (receipts) {
      receipts.clear();
    }
  }
}
