package org.presence.gateway.updates;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.presence.gateway.config.UpdatesConfig;
import org.presence.gateway.fanout.AppUpdatePublisher;
import org.presence.gateway.notify.Receipts;
import org.presence.protocol.app.AppCodec;
import org.presence.protocol.app.AppFrames.Receipt;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.bus.PresenceBus;
import org.presence.store.updates.AppUpdate;
import org.presence.store.updates.AppUpdateBatchCodec;
import org.presence.store.updates.AppUpdateLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One application's updates on one node, for the update connections of that application here. It
 * listens to the application's bus channel and keeps the latest updates, in number order and
 * without gaps, in a small bounded buffer that every connection reads from by its own cursor (so a
 * connection costs a cursor, never a queue).
 *
 * <p>Updates appended on this node come straight from the {@link AppUpdatePublisher}, as objects;
 * those of other nodes (in a cluster) through the bus. The bus is at most once and two nodes'
 * updates may cross, so the hub trusts numbers, not arrival: an update that arrives ahead of a
 * missing one waits {@link UpdatesConfig#reorderWait()} for it, and then the gap is read from the
 * application's log; a periodic check of the log's position ({@link UpdatesConfig#pollInterval()})
 * catches updates whose bus message was lost with nothing after it. A connection whose cursor is
 * older than the buffer reads the log itself.
 *
 * <p>It also relays the application's notification receipts (bus channel {@code receipts:<appId>})
 * to its connections. Thread-safe: bus listeners, store callbacks and event loops all call in;
 * state is guarded by this object.
 */
final class AppHub {
  private static final Logger LOG = LoggerFactory.getLogger(AppHub.class);

  /** What {@link #read} found after a cursor. */
  enum Outcome {
    /** The hub does not know the log's position yet. */
    WAIT,
    /** Nothing after the cursor yet. */
    NONE,
    /** The cursor is older than the buffer: read the log. */
    BEHIND,
    /** Updates after the cursor are in {@link Read#updates}. */
    ITEMS
  }

  /** The result of {@link #read}. */
  record Read(Outcome outcome, List<AppUpdate> updates) {
    static final Read WAIT = new Read(Outcome.WAIT, List.of());
    static final Read NONE = new Read(Outcome.NONE, List.of());
    static final Read BEHIND = new Read(Outcome.BEHIND, List.of());
  }

  private final long appId;
  private final AppUpdateLog log;
  private final AppUpdatePublisher publisher;
  private final PresenceBus bus;
  private final UpdatesConfig config;
  private final ScheduledExecutorService timers;
  private final UpdateMetrics metrics;
  private final CopyOnWriteArraySet<UpdateConsumer> consumers = new CopyOnWriteArraySet<>();

  // Guarded by this.
  private final AppUpdate[] ring;
  private int ringStart;
  private int ringSize;
  private long head = -1;
  private boolean ready;
  private final TreeMap<Long, AppUpdate> early = new TreeMap<>();
  private boolean filling;
  // The log's position the last poll found ahead of head, or -1.
  private long lead = -1;
  // Whether an update moved head on since the last poll.
  private boolean advanced;
  private ScheduledFuture<?> gapTimer;
  private boolean closed;

  private volatile PresenceBus.Subscription updatesSub;
  private volatile AppUpdatePublisher.Registration localSub;
  private volatile PresenceBus.Subscription receiptsSub;
  private volatile ScheduledFuture<?> poller;

  AppHub(
      long appId,
      AppUpdatePublisher publisher,
      PresenceBus bus,
      UpdatesConfig config,
      ScheduledExecutorService timers,
      UpdateMetrics metrics) {
    this.appId = appId;
    this.log = publisher.log();
    this.publisher = publisher;
    this.bus = bus;
    this.config = config;
    this.timers = timers;
    this.metrics = metrics;
    this.ring = new AppUpdate[config.bufferSize()];
  }

  long appId() {
    return appId;
  }

  /**
   * Subscribes to the application's channels, then learns the log's position. Updates numbered
   * after that position are all seen (through the bus, or the log when the bus loses one).
   */
  CompletionStage<Void> start() {
    localSub = publisher.listen(appId, this::onLocalUpdates);
    CompletableFuture<PresenceBus.Subscription> u =
        (publisher.busBetweenNodes()
                ? bus.subscribe(AppUpdateBatchCodec.channel(appId), (c, m) -> onUpdate(m))
                : CompletableFuture.<PresenceBus.Subscription>completedFuture(null))
            .toCompletableFuture();
    CompletableFuture<PresenceBus.Subscription> r =
        bus.subscribe(Receipts.channel(appId), (c, m) -> onReceipt(m)).toCompletableFuture();
    // Both answered before deciding: a hub that failed on one channel, or was closed while they
    // were out, gives back the other, which nothing would ever end otherwise.
    return CompletableFuture.allOf(u, r)
        .handle(
            (v, e) -> {
              PresenceBus.Subscription a = u.isCompletedExceptionally() ? null : u.join();
              PresenceBus.Subscription b = r.isCompletedExceptionally() ? null : r.join();
              boolean kept;
              synchronized (this) {
                kept = e == null && !closed;
                if (kept) {
                  updatesSub = a;
                  receiptsSub = b;
                }
              }
              if (!kept) {
                if (a != null) {
                  a.unsubscribe();
                }
                if (b != null) {
                  b.unsubscribe();
                }
                throw e instanceof CompletionException ce
                    ? ce
                    : new CompletionException(
                        e != null ? e : new IllegalStateException("closed while starting"));
              }
              return null;
            })
        .thenCompose(v -> log.lastSeq(appId))
        .thenAccept(this::ready)
        .whenComplete(
            (v, e) -> {
              if (e == null) {
                long every = config.pollInterval().toMillis();
                synchronized (this) {
                  if (!closed) {
                    poller =
                        timers.scheduleWithFixedDelay(
                            this::poll, every, every, TimeUnit.MILLISECONDS);
                  }
                }
              }
            });
  }

  private void ready(long lastSeq) {
    List<UpdateConsumer> wake;
    synchronized (this) {
      head = lastSeq;
      ready = true;
      early.headMap(lastSeq, true).clear();
      drainEarly();
      if (!early.isEmpty()) {
        scheduleGapFill();
      }
      wake = List.copyOf(consumers);
    }
    wake.forEach(UpdateConsumer::wake);
  }

  void add(UpdateConsumer c) {
    consumers.add(c);
  }

  void remove(UpdateConsumer c) {
    consumers.remove(c);
  }

  int consumerCount() {
    return consumers.size();
  }

  java.util.Set<UpdateConsumer> consumers() {
    return consumers;
  }

  /** The last update number this hub holds, or -1 before it knows. */
  synchronized long head() {
    return head;
  }

  /** Updates held in memory now (at most {@link UpdatesConfig#bufferSize()}). */
  synchronized int buffered() {
    return ringSize + early.size();
  }

  /** At most {@code max} updates after {@code after}, in order, if the buffer has them. */
  synchronized Read read(long after, int max) {
    if (!ready) {
      return Read.WAIT;
    }
    if (after >= head) {
      return Read.NONE;
    }
    long first = head - ringSize + 1;
    if (after + 1 < first) {
      return Read.BEHIND;
    }
    int from = (int) (after + 1 - first);
    int n = Math.min(max, ringSize - from);
    List<AppUpdate> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(ring[(ringStart + from + i) % ring.length]);
    }
    return new Read(Outcome.ITEMS, out);
  }

  // ---------------------------------------------------------------------------------------------
  // Arrivals

  /**
   * A batch of another node's updates (or this node's own, echoed by Redis): taken as they are, no
   * log read unless they leave a gap.
   */
  private void onUpdate(byte[] message) {
    List<AppUpdate> updates;
    try {
      updates = AppUpdateBatchCodec.decodeBatch(message);
    } catch (IOException x) {
      LOG.warn("ignoring malformed update on app {}'s channel: {}", appId, x.getMessage());
      return;
    }
    onLocalUpdates(updates);
  }

  /** Updates appended on this node, as objects (no bus message to decode), or a batch's. */
  private void onLocalUpdates(List<AppUpdate> updates) {
    boolean wake = false;
    synchronized (this) {
      for (AppUpdate u : updates) {
        wake |= accept(u);
      }
    }
    if (wake) {
      wakeAll();
    }
  }

  /** Takes {@code u}; true when the buffer grew. Holds the lock. */
  private boolean accept(AppUpdate u) {
    if (closed) {
      return false;
    }
    if (!ready) {
      early.put(u.seq(), u);
      return false;
    }
    if (u.seq() <= head) {
      return false;
    }
    if (u.seq() == head + 1) {
      push(u);
      drainEarly();
      if (early.isEmpty() && gapTimer != null) {
        gapTimer.cancel(false);
        gapTimer = null;
      }
      return true;
    }
    early.put(u.seq(), u);
    if (early.size() >= ring.length) {
      // Far ahead of a gap: do not hold more; read the gap now.
      early.pollLastEntry();
      fillFromLog();
    } else {
      scheduleGapFill();
    }
    return false;
  }

  private void push(AppUpdate u) {
    int end = (ringStart + ringSize) % ring.length;
    ring[end] = u;
    if (ringSize == ring.length) {
      ringStart = (ringStart + 1) % ring.length;
    } else {
      ringSize++;
    }
    head = u.seq();
    advanced = true;
    trimByAge();
  }

  private void trimByAge() {
    // In epoch milliseconds: runs for every update, so no Instant is made for the cut-off.
    long cutoff = System.currentTimeMillis() - config.bufferAge().toMillis();
    // Keep the newest entry: a connection at head - 1 reads it from memory.
    while (ringSize > 1 && ring[ringStart].at().toEpochMilli() < cutoff) {
      ring[ringStart] = null;
      ringStart = (ringStart + 1) % ring.length;
      ringSize--;
    }
  }

  private void drainEarly() {
    Map.Entry<Long, AppUpdate> next;
    while ((next = early.firstEntry()) != null && next.getKey() <= head + 1) {
      early.pollFirstEntry();
      if (next.getKey() == head + 1) {
        push(next.getValue());
      }
    }
  }

  private void scheduleGapFill() {
    if (gapTimer == null && !filling && !closed) {
      gapTimer =
          timers.schedule(
              () -> {
                synchronized (this) {
                  gapTimer = null;
                  if (!early.isEmpty()) {
                    fillFromLog();
                  }
                }
              },
              config.reorderWait().toMillis(),
              TimeUnit.MILLISECONDS);
    }
  }

  /** Reads the log after {@link #head} until the hub has caught up. Holds the lock. */
  private void fillFromLog() {
    if (filling || closed || !ready) {
      return;
    }
    filling = true;
    metrics.gapFills().inc();
    long from = head;
    log.readSince(appId, from, ring.length)
        .whenComplete(
            (read, e) -> {
              boolean wake = false;
              synchronized (this) {
                filling = false;
                if (closed) {
                  return;
                }
                if (e != null) {
                  LOG.warn("cannot read app {}'s update log: {}", appId, e.toString());
                  scheduleGapFill();
                  return;
                }
                if (read.outcome() == AppUpdateLog.Outcome.OK) {
                  for (AppUpdate u : read.updates()) {
                    if (u.seq() == head + 1) {
                      push(u);
                      wake = true;
                    }
                  }
                  drainEarly();
                } else {
                  // Behind by more than the log keeps (or the log was reset): start over at its
                  // end.
                  // Connections with older cursors learn from the log that they need a snapshot.
                  ringStart = 0;
                  ringSize = 0;
                  java.util.Arrays.fill(ring, null);
                  head = read.lastSeq();
                  early.headMap(head, true).clear();
                  drainEarly();
                  wake = true;
                }
                if (read.more() || !early.isEmpty()) {
                  if (read.more()) {
                    fillFromLog();
                  } else {
                    scheduleGapFill();
                  }
                }
              }
              if (wake) {
                wakeAll();
              }
            });
  }

  /**
   * The periodic check of the log's position. A lead of the log over the hub is usually a batch
   * message still on its way, so the log is read only when the lead seen by the previous check is
   * still not caught up (its message was lost).
   *
   * <p>A check finds only a message lost with nothing after it (a later one leaves a gap, which is
   * filled after {@link UpdatesConfig#reorderWait()}). So when updates moved the hub on since the
   * previous check, with no lead and no gap pending, this check is skipped: an application with at
   * least one update per interval costs no position reads, and a message lost after the last one
   * heard is found by the first check after an interval without updates.
   */
  private void poll() {
    synchronized (this) {
      boolean heard = advanced;
      advanced = false;
      if (heard && lead < 0 && early.isEmpty() && !filling) {
        return;
      }
    }
    log.lastSeq(appId)
        .whenComplete(
            (last, e) -> {
              if (e != null) {
                return;
              }
              synchronized (this) {
                if (!ready) {
                  return;
                }
                if (lead > head) {
                  fillFromLog();
                }
                lead = last > head ? last : -1;
              }
            });
  }

  private void onReceipt(byte[] message) {
    Receipt r;
    try {
      r = AppCodec.decodeReceipt(message);
    } catch (ProtocolException e) {
      LOG.warn("ignoring malformed receipt on app {}'s channel: {}", appId, e.getMessage());
      return;
    }
    for (UpdateConsumer c : consumers) {
      c.offerReceipt(r);
    }
  }

  private void wakeAll() {
    for (UpdateConsumer c : consumers) {
      c.wake();
    }
  }

  /** Unsubscribes and forgets everything, also what a start still under way gets afterwards. */
  void close() {
    ScheduledFuture<?> p;
    PresenceBus.Subscription a;
    PresenceBus.Subscription b;
    synchronized (this) {
      closed = true;
      if (gapTimer != null) {
        gapTimer.cancel(false);
      }
      p = poller;
      a = updatesSub;
      b = receiptsSub;
    }
    if (p != null) {
      p.cancel(false);
    }
    AppUpdatePublisher.Registration l = localSub;
    if (l != null) {
      l.close();
    }
    if (a != null) {
      a.unsubscribe();
    }
    if (b != null) {
      b.unsubscribe();
    }
  }
}
