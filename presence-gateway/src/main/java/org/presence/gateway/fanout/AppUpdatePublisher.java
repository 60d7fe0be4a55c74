package org.presence.gateway.fanout;

import dev.failsafe.Failsafe;
import dev.failsafe.RetryPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import org.presence.gateway.retry.RetryWaits;
import org.presence.store.bus.PresenceBus;
import org.presence.store.exec.Batcher;
import org.presence.store.updates.AppUpdate;
import org.presence.store.updates.AppUpdateBatchCodec;
import org.presence.store.updates.AppUpdateLog;
import org.presence.store.updates.OneApp;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way presence updates for an application leave the node where they happen: numbered by the
 * application's {@link AppUpdateLog} (once, here), handed as they are to this node's own listeners
 * of the application ({@link #listen}: its update connections), and published on the bus channel
 * {@link AppUpdateBatchCodec#channel} as one {@link AppUpdateBatchCodec} message per application
 * and batch, carrying the updates with their numbers, for the other nodes (the Redis log publishes
 * it from its append script, in the same call). On the in-process bus nobody else listens, so the
 * bus message is only built when someone subscribed to the channel. Listeners of every batch
 * ({@link #addListener}: the webhook sender) hear of all applications.
 *
 * <p>The log is the truth: a consumer that misses a bus message (the bus is at most once, and
 * messages of two nodes may cross) finds it in the log by its number.
 */
public final class AppUpdatePublisher {
  private static final Logger LOG = LoggerFactory.getLogger(AppUpdatePublisher.class);

  /** Hears of updates once the log numbered them. */
  @FunctionalInterface
  public interface Listener {
    /** {@code updates} of {@code appId}, numbered, in order; must not block. */
    void appended(long appId, List<AppUpdate> updates);

    /**
     * The updates of every application of one delivery (one user's change reaches each of their
     * applications at once), numbered, in order, some lists possibly empty; must not block. By
     * default {@link #appended} for each application with updates; a listener that looks its
     * applications up overrides it to look them all up together.
     */
    default void appendedAll(Map<Long, List<AppUpdate>> numberedByApp) {
      numberedByApp.forEach(
          (app, updates) -> {
            if (!updates.isEmpty()) {
              appended(app, updates);
            }
          });
    }
  }

  /** Hears, on this node, the updates of one application appended on this node. */
  @FunctionalInterface
  public interface AppListener {
    /** {@code updates}, numbered, in order; called on the appending thread, must not block. */
    void updates(List<AppUpdate> updates);
  }

  /** A registration of an {@link AppListener}; {@link #close} ends it. */
  public interface Registration extends AutoCloseable {
    @Override
    void close();
  }

  private final AppUpdateLog log;
  private final PresenceBus bus;
  // Arrays replaced whole on a change (copy on write), so handing on an update iterates nothing.
  private volatile Listener[] listeners = new Listener[0];
  private final ConcurrentHashMap<Long, AppListener[]> appListeners = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Long, String> channels = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Integer, Batcher<Pending>> groups = new ConcurrentHashMap<>();

  public AppUpdatePublisher(AppUpdateLog log, PresenceBus bus) {
    this.log = log;
    this.bus = bus;
  }

  /** The log behind this publisher. */
  public AppUpdateLog log() {
    return log;
  }

  /** Whether the bus reaches other nodes (then their updates come only through it). */
  public boolean busBetweenNodes() {
    return !"local".equals(bus.kind());
  }

  /**
   * Hands this node's updates of {@code appId} to {@code listener} until the registration closes.
   */
  public Registration listen(long appId, AppListener listener) {
    appListeners.merge(appId, new AppListener[] {listener}, AppUpdatePublisher::concat);
    return () ->
        appListeners.computeIfPresent(
            appId,
            (k, here) -> {
              // The first registration of this listener (one listener may be registered twice).
              for (int i = 0; i < here.length; i++) {
                if (listener.equals(here[i])) {
                  if (here.length == 1) {
                    return null;
                  }
                  AppListener[] rest = new AppListener[here.length - 1];
                  System.arraycopy(here, 0, rest, 0, i);
                  System.arraycopy(here, i + 1, rest, i, here.length - i - 1);
                  return rest;
                }
              }
              return here;
            });
  }

  private static <T> T[] concat(T[] a, T[] b) {
    T[] both = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, both, a.length, b.length);
    return both;
  }

  /** Adds a listener of every numbered batch. */
  public synchronized void addListener(Listener listener) {
    listeners = concat(listeners, new Listener[] {listener});
  }

  /**
   * Appends {@code updates} to {@code appId}'s log and publishes the ones it kept. Completes with
   * them once handed to the bus; fails when the log could not take them. A failed bus publication
   * is only logged: consumers find the updates in the log.
   *
   * <p>Calls are batched per slot group ({@link AppUpdateLog#slotGroup}): a call made while {@link
   * #MAX_IN_FLIGHT} log calls of its group are running waits and goes, with every other waiting
   * call (up to {@link #MAX_BATCH} updates), into the next one; a lone call goes at once. So the
   * log sees one {@link AppUpdateLog#appendAll} per batch, and each application one bus message per
   * batch ({@link AppUpdateBatchCodec}), however many changes it carries.
   */
  public CompletionStage<List<AppUpdate>> publish(long appId, List<AppUpdate.New> updates) {
    if (updates.isEmpty()) {
      return CompletableFuture.completedFuture(List.of());
    }
    return publishAll(Map.of(appId, updates)).thenApply(m -> m.get(appId));
  }

  /**
   * {@link #publish} for several applications at once (a user's change seen by several): the
   * applications of one slot group go into the same log call. Completes with the kept updates by
   * application once every group's call is done.
   */
  public CompletionStage<Map<Long, List<AppUpdate>>> publishAll(
      Map<Long, List<AppUpdate.New>> byApp) {
    return publishAll(byApp, false);
  }

  /**
   * {@link #publishAll} of a map that nobody changes afterwards, nor its lists ({@link
   * LoggedPresenceEvents}' own): kept as it is rather than copied.
   */
  CompletionStage<Map<Long, List<AppUpdate>>> publishOwned(Map<Long, List<AppUpdate.New>> byApp) {
    return publishAll(byApp, true);
  }

  private CompletionStage<Map<Long, List<AppUpdate>>> publishAll(
      Map<Long, List<AppUpdate.New>> byApp, boolean owned) {
    // The usual case: every application in one slot group (always so on the in-memory log and on
    // one Redis) and each with updates. Then the call is one share of one batch, whose result is
    // the call's, with no map per group nor a stage to join the groups.
    Groups seen = new Groups();
    byApp.forEach(seen);
    if (seen.any && seen.oneGroup && !seen.empty) {
      if (!owned) {
        Map<Long, List<AppUpdate.New>> copy = new LinkedHashMap<>();
        byApp.forEach((app, updates) -> copy.put(app, List.copyOf(updates)));
        byApp = copy;
      }
      Pending p = new Pending(byApp, seen.size);
      group(seen.group).submit(p);
      return p.result;
    }
    Map<Integer, Map<Long, List<AppUpdate.New>>> byGroup = new HashMap<>();
    byApp.forEach(
        (app, updates) -> {
          if (!updates.isEmpty()) {
            byGroup
                .computeIfAbsent(log.slotGroup(app), g -> new LinkedHashMap<>())
                .put(app, List.copyOf(updates));
          }
        });
    Map<Long, List<AppUpdate>> out = new ConcurrentHashMap<>();
    byApp.keySet().forEach(app -> out.put(app, List.of()));
    List<CompletableFuture<?>> calls = new ArrayList<>(byGroup.size());
    byGroup.forEach(
        (group, apps) -> {
          Pending p = new Pending(apps);
          group(group).submit(p);
          calls.add(p.result.thenAccept(out::putAll));
        });
    return CompletableFuture.allOf(calls.toArray(new CompletableFuture[0])).thenApply(v -> out);
  }

  /** Which slot groups a call's applications fall in, and whether one of them has no updates. */
  private final class Groups implements BiConsumer<Long, List<AppUpdate.New>> {
    int group;
    boolean any;
    boolean oneGroup = true;
    boolean empty;
    int size;

    @Override
    public void accept(Long app, List<AppUpdate.New> updates) {
      if (updates.isEmpty()) {
        empty = true;
      }
      size += updates.size();
      int g = log.slotGroup(app);
      if (!any) {
        any = true;
        group = g;
      } else if (g != group) {
        oneGroup = false;
      }
    }
  }

  private Batcher<Pending> group(int group) {
    Batcher<Pending> batcher = groups.get(group);
    return batcher != null ? batcher : groups.computeIfAbsent(group, g -> newGroup());
  }

  /** Log calls of one slot group running at once. */
  public static final int MAX_IN_FLIGHT = 2;

  /** Most updates in one log call (a call takes at least one request, whatever its size). */
  public static final int MAX_BATCH = 512;

  /** One {@link #publishAll} call's share of a slot group, waiting for its batch. */
  private static final class Pending {
    final Map<Long, List<AppUpdate.New>> byApp;
    final int size;
    final CompletableFuture<Map<Long, List<AppUpdate>>> result = new CompletableFuture<>();

    Pending(Map<Long, List<AppUpdate.New>> byApp) {
      this(byApp, byApp.values().stream().mapToInt(List::size).sum());
    }

    Pending(Map<Long, List<AppUpdate.New>> byApp, int size) {
      this.byApp = byApp;
      this.size = size;
    }
  }

  /**
   * The batcher of one slot group: a batch holds at least one call and otherwise at most {@link
   * #MAX_BATCH} updates. A log over a connection ({@link AppUpdateLog#remote}) is called from
   * {@link Batcher#serialSender()}, so the batches reach it in order; one in memory is called by
   * the submitting thread, adding no hop.
   */
  private Batcher<Pending> newGroup() {
    return new Batcher<>(
        MAX_IN_FLIGHT,
        MAX_BATCH,
        p -> p.size,
        this::run,
        (batch, e) -> batch.forEach(b -> b.result.completeExceptionally(e)),
        log.remote() ? Batcher.serialSender() : null);
  }

  /**
   * Appends one batch (one log call) and hands every application's kept updates on. A log that
   * answers at once (in memory) and a bus that needs nothing sent leave no stage chained on them.
   */
  private CompletionStage<?> run(List<Pending> batch) {
    Map<Long, List<AppUpdate.New>> byApp;
    if (batch.size() == 1) {
      byApp = batch.get(0).byApp;
    } else {
      byApp = new LinkedHashMap<>();
      for (Pending p : batch) {
        p.byApp.forEach((app, u) -> byApp.computeIfAbsent(app, a -> new ArrayList<>()).addAll(u));
      }
    }
    CompletableFuture<Map<Long, List<AppUpdate>>> appended = new CompletableFuture<>();
    append(byApp, appended);
    if (appended.isDone() && !appended.isCompletedExceptionally()) {
      Map<Long, List<AppUpdate>> numbered = appended.join();
      CompletableFuture<?> sent;
      try {
        sent = deliver(numbered);
      } catch (RuntimeException e) {
        sent = CompletableFuture.failedFuture(e);
      }
      if (sent == null) {
        share(batch, numbered);
        return DONE;
      }
      return finish(batch, sent.thenApply(v -> numbered));
    }
    return finish(
        batch,
        appended.thenCompose(
            numbered -> {
              CompletableFuture<?> sent = deliver(numbered);
              return sent == null
                  ? CompletableFuture.completedFuture(numbered)
                  : sent.thenApply(v -> numbered);
            }));
  }

  private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

  private static CompletionStage<?> finish(
      List<Pending> batch, CompletableFuture<Map<Long, List<AppUpdate>>> delivered) {
    return delivered.whenComplete(
        (numbered, e) -> {
          if (e != null) {
            batch.forEach(p -> p.result.completeExceptionally(e));
          } else {
            share(batch, numbered);
          }
        });
  }

  /**
   * How long a batch whose log call failed is sent again before its updates are given up: the
   * changes are already decided in the users' states (on a Redis Cluster, on another shard), so a
   * log call lost to a failover must not lose them; a Redis failover takes a few seconds. A call
   * that did run before its answer was lost is harmless to repeat: the log's per-PUID guard drops
   * an update it already holds.
   */
  static final Duration RETRY_FOR = Duration.ofSeconds(20);

  /**
   * A failed log call is sent again after 50 ms, doubling up to a second ({@link RetryWaits}),
   * until {@link #RETRY_FOR} after the first try.
   */
  private static final RetryPolicy<Object> RETRY =
      RetryWaits.backoff(Duration.ofMillis(50), Duration.ofSeconds(1))
          .withMaxDuration(RETRY_FOR)
          .onRetryScheduled(
              e ->
                  LOG.debug(
                      "update log call failed, sending it again in {} ms: {}",
                      e.getDelay().toMillis(),
                      String.valueOf(e.getLastException())))
          .build();

  /**
   * Appends {@code byApp}; a call that fails is sent again by {@link #RETRY} until it succeeds or
   * the policy gives up. The first call is made here, so a call that succeeds (every call of the
   * in-memory log, which answers at once) costs nothing more.
   */
  private void append(
      Map<Long, List<AppUpdate.New>> byApp, CompletableFuture<Map<Long, List<AppUpdate>>> out) {
    CompletableFuture<Map<Long, List<AppUpdate>>> first = call(byApp);
    if (first.isDone() && !first.isCompletedExceptionally()) {
      out.complete(first.join());
      return;
    }
    first.whenComplete(
        (numbered, e) -> {
          if (e == null) {
            out.complete(numbered);
            return;
          }
          // The failed first call is the policy's first attempt: it waits before the second.
          Failsafe.with(RETRY)
              .<Map<Long, List<AppUpdate>>>getStageAsync(
                  c -> c.isFirstAttempt() ? first : call(byApp))
              .whenComplete(
                  (again, x) -> {
                    if (x == null) {
                      out.complete(again);
                    } else {
                      out.completeExceptionally(x);
                    }
                  });
        });
  }

  private CompletableFuture<Map<Long, List<AppUpdate>>> call(Map<Long, List<AppUpdate.New>> byApp) {
    try {
      return log.appendAll(byApp).toCompletableFuture();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Completes each call with its kept updates: the log keeps a subsequence of each application's
   * merged list, in order, so they are matched back in order.
   */
  private static void share(List<Pending> batch, Map<Long, List<AppUpdate>> numbered) {
    if (batch.size() == 1 && numbered.size() == batch.get(0).byApp.size()) {
      // A call alone in its batch keeps all its applications' kept updates.
      batch.get(0).result.complete(numbered);
      return;
    }
    Map<Long, Integer> next = new HashMap<>();
    for (Pending p : batch) {
      Map<Long, List<AppUpdate>> mine = new HashMap<>();
      p.byApp.forEach(
          (app, updates) -> {
            List<AppUpdate> kept = numbered.getOrDefault(app, List.of());
            int i = next.getOrDefault(app, 0);
            List<AppUpdate> got = new ArrayList<>(updates.size());
            for (AppUpdate.New u : updates) {
              if (i < kept.size() && same(kept.get(i), u)) {
                got.add(kept.get(i++));
              }
            }
            next.put(app, i);
            mine.put(app, got);
          });
      p.result.complete(mine);
    }
  }

  private static boolean same(AppUpdate a, AppUpdate.New u) {
    return a.puid().equals(u.puid())
        && a.status() == u.status()
        && a.message().equals(u.message())
        && a.version() == u.version();
  }

  /**
   * Hands updates that the log numbered and published in a call made elsewhere (the batched status
   * path of the cluster, {@code RedisStatusBatches}, whose one script also appends) to this node's
   * listeners, as {@link #publish} does with the updates it appends itself.
   */
  public void delivered(Map<Long, List<AppUpdate>> numberedByApp) {
    deliver(numberedByApp);
  }

  /**
   * Hands the numbered updates of each application to this node's listeners and, unless the log
   * published them itself, to the bus as one batch message per application. Returns what completes
   * once they are handed to the bus (a failed publication is only logged), or null when nothing was
   * sent.
   */
  private CompletableFuture<?> deliver(Map<Long, List<AppUpdate>> numberedByApp) {
    CompletableFuture<?> sent = null;
    if (numberedByApp instanceof OneApp<List<AppUpdate>> one) {
      sent = deliver(one.app(), one.value());
    } else {
      for (Map.Entry<Long, List<AppUpdate>> e : numberedByApp.entrySet()) {
        CompletableFuture<Void> one = deliver(e.getKey(), e.getValue());
        if (one != null) {
          sent = sent == null ? one : CompletableFuture.allOf(sent, one);
        }
      }
    }
    // Once per delivery, with every application: the webhook sender looks them up together.
    for (Listener l : listeners) {
      try {
        l.appendedAll(numberedByApp);
      } catch (RuntimeException ex) {
        LOG.error("update listener failed", ex);
      }
    }
    return sent;
  }

  /**
   * {@link #deliver} of one application's updates to its own listeners and the bus: the bus
   * publication, or null for none.
   */
  private CompletableFuture<Void> deliver(Long appId, List<AppUpdate> numbered) {
    if (numbered.isEmpty()) {
      return null;
    }
    AppListener[] here = appListeners.get(appId);
    if (here != null) {
      for (AppListener l : here) {
        try {
          l.updates(numbered);
        } catch (RuntimeException ex) {
          LOG.error("update listener of app {} failed", appId, ex);
        }
      }
    }
    CompletableFuture<Void> sent = null;
    if (!log.publishesBatches()) {
      String channel = channels.computeIfAbsent(appId, AppUpdateBatchCodec::channel);
      if (bus.mayReach(channel)) {
        sent =
            bus.publish(channel, AppUpdateBatchCodec.encodeBatch(numbered))
                .toCompletableFuture()
                .exceptionally(
                    e -> {
                      LOG.warn(
                          "updates {}..{} of app {} not published on the bus (they stay in"
                              + " the log): {}",
                          numbered.get(0).seq(),
                          numbered.get(numbered.size() - 1).seq(),
                          appId,
                          e.toString());
                      return null;
                    });
      }
    }
    return sent;
  }
}
