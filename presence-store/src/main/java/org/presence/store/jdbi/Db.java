package org.presence.store.jdbi;

import dev.failsafe.CircuitBreaker;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jdbi.v3.core.ConnectionException;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.config.StoreConfig;
import org.presence.store.error.Causes;
import org.presence.store.error.RateLimitedLog;
import org.presence.store.error.StoreException;
import org.presence.store.exec.StoreExecutors;
import org.presence.store.metrics.StoreLatency;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs Jdbi work on the bounded {@code store-db} pool and hands back a {@link CompletionStage}, so
 * that no caller ever blocks on the database. Failures come back as {@link StoreException}s with
 * the error code to answer: a full pool is {@code SERVER_BUSY}, an unreachable database {@code
 * BACKEND_UNAVAILABLE}.
 *
 * <p>A call that finds no connection within the connect timeout marks the database unreachable (a
 * Failsafe {@link CircuitBreaker}, opened by one such failure): from then on calls fail at once
 * with {@code BACKEND_UNAVAILABLE}, those already queued included, instead of each waiting the
 * connect timeout in turn. Once {@link #PROBE_INTERVAL} has passed, one call at a time goes to the
 * database again; the first that gets a connection lets the others through. A call that has not got
 * a database thread within its deadline (the connect timeout) fails with {@code SERVER_BUSY} rather
 * than waiting behind the whole queue.
 *
 * <p>A database that can close itself (the embedded H2 file closes after a write or read of the
 * file failed: a full disk) tells the runner which failures mean that through a {@link Reopening}.
 * Such a failure is answered {@code BACKEND_UNAVAILABLE}, opens the breaker as a connection that
 * could not be had does, and drops the pool's connections so that the next one opens the database
 * again; a probe that fails the same way does so again. The line saying the database is unreachable
 * is written at most once per {@link #OUTAGE_LOG_EVERY} (a full disk closes the file again at each
 * write tried, and a database that comes and goes would write a pair of lines each second).
 */
public final class Db {
  /** A unit of database work on an open handle. */
  @FunctionalInterface
  public interface Work<T> {
    T run(Handle handle) throws Exception;
  }

  /**
   * A database that can close itself under its pool, and open again: which failures say it closed,
   * and how to make the pool's next connections open it again.
   */
  public interface Reopening {
    /** Whether {@code t} says the database closed itself: every call fails until it is reopened. */
    boolean closedItself(Throwable t);

    /**
     * Drops the pool's connections, so that the next one opens the database again; quick (the
     * opening happens when a connection is next made).
     */
    void reopen();
  }

  /** How long the database stays known to be down before one call may try it again. */
  static final Duration PROBE_INTERVAL = Duration.ofSeconds(1);

  /** At most one "database unreachable" line per this interval, however often it comes and goes. */
  static final Duration OUTAGE_LOG_EVERY = Duration.ofSeconds(10);

  private static final Logger LOG = LoggerFactory.getLogger(Db.class);

  /** Fails the calls that wait too long for a database thread. */
  private static final ScheduledThreadPoolExecutor DEADLINES = deadlines();

  private final Jdbi jdbi;
  private final Executor executor;
  private final long maxWaitNanos;
  private final CircuitBreaker<Object> breaker;
  private final Reopening reopening;
  private final AtomicBoolean reopenRunning = new AtomicBoolean();
  private final RateLimitedLog outages = new RateLimitedLog(LOG, OUTAGE_LOG_EVERY);
  private volatile boolean outageLogged;
  private volatile Throwable lastFailure;
  private volatile StoreLatency latency = StoreLatency.NONE;
  private final List<Runnable> whenReachable = new CopyOnWriteArrayList<>();

  /**
   * Runs work on {@code executor}; a call that has not started {@code maxWait} after it was
   * submitted fails with {@code SERVER_BUSY}.
   */
  public Db(Jdbi jdbi, Executor executor, Duration maxWait) {
    this(jdbi, executor, maxWait, null);
  }

  /**
   * As {@link #Db(Jdbi, Executor, Duration)}, for a database that can close itself: {@code
   * reopening} says which failures mean that and opens it again ({@code null}: it cannot).
   */
  public Db(Jdbi jdbi, Executor executor, Duration maxWait, Reopening reopening) {
    this.jdbi = jdbi;
    this.reopening = reopening;
    this.executor = executor;
    this.maxWaitNanos = maxWait.toNanos();
    this.breaker =
        CircuitBreaker.builder()
            .withFailureThreshold(1)
            .withSuccessThreshold(1)
            .withDelay(PROBE_INTERVAL)
            .onOpen(
                e -> {
                  // A failed probe logs the outage when its first line was left out.
                  if (e.getPreviousState() == CircuitBreaker.State.CLOSED || !outageLogged) {
                    outageLogged =
                        outages.warn(
                            "database unreachable ("
                                + describe(lastFailure)
                                + "): its calls fail at once, one call every "
                                + PROBE_INTERVAL.toMillis()
                                + " ms tries it again");
                  }
                })
            .onClose(
                e -> {
                  if (outageLogged) {
                    LOG.info("database reachable again: its calls run again");
                    outageLogged = false;
                  }
                  for (Runnable r : whenReachable) {
                    try {
                      r.run();
                    } catch (RuntimeException failed) {
                      LOG.warn("a listener of the database's return failed", failed);
                    }
                  }
                })
            .build();
  }

  /**
   * Runs {@code listener} each time the database is taken for reachable again after it was taken
   * for unreachable ({@link #knownDown} turning false), on the thread of the call that found it;
   * the listener must be quick and not block (it hands work elsewhere).
   */
  public void whenReachable(Runnable listener) {
    whenReachable.add(listener);
  }

  /** The Jdbi instance, for synchronous use off the event loops (migrations, tests). */
  public Jdbi jdbi() {
    return jdbi;
  }

  /** Tells {@code latency} how long each call takes from now on. */
  public void observe(StoreLatency latency) {
    this.latency = latency;
  }

  /**
   * Whether the database is taken for unreachable: the last attempt to get a connection failed, so
   * calls fail at once until one (a probe, at most one a {@link #PROBE_INTERVAL}) gets one.
   */
  public boolean knownDown() {
    return !breaker.isClosed();
  }

  /** Runs {@code work} with a handle on a database thread. */
  public <T> CompletionStage<T> call(Work<T> work) {
    return submit(() -> jdbi.withHandle(work::run));
  }

  /** Runs {@code work} in a transaction (committed when it returns) on a database thread. */
  public <T> CompletionStage<T> inTransaction(Work<T> work) {
    return submit(() -> jdbi.inTransaction(work::run));
  }

  private <T> CompletionStage<T> submit(Callable<T> body) {
    CompletableFuture<T> result = new CompletableFuture<>();
    // While the database is known to be down, only the call that takes the breaker's one permit
    // (once PROBE_INTERVAL has passed) goes to it; the others fail here, without waiting.
    boolean probe = false;
    if (!breaker.isClosed()) {
      if (!breaker.tryAcquirePermit()) {
        result.completeExceptionally(unreachable());
        return result;
      }
      probe = true;
    }
    Task<T> task = new Task<>(body, result, probe);
    try {
      executor.execute(task);
    } catch (RejectedExecutionException e) {
      task.started.set(true);
      if (probe) {
        breaker.open();
      }
      boolean closed =
          executor instanceof java.util.concurrent.ExecutorService es && es.isShutdown();
      result.completeExceptionally(
          closed
              ? new StoreException(ErrorCode.BACKEND_UNAVAILABLE, "database closed", e)
              : new StoreException(ErrorCode.SERVER_BUSY, "database queue full", e));
      return result;
    }
    if (!task.started.get()) {
      try {
        task.deadline = DEADLINES.schedule(task::expire, maxWaitNanos, TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException e) {
        // Not while the JVM runs: the timer is never shut down.
      }
    }
    return result;
  }

  private StoreException unreachable() {
    return new StoreException(ErrorCode.BACKEND_UNAVAILABLE, "database unavailable", lastFailure);
  }

  /** One call: runs once, unless it waited past its deadline or the database is known down. */
  private final class Task<T> implements Runnable {
    final AtomicBoolean started = new AtomicBoolean();
    final Callable<T> body;
    final CompletableFuture<T> result;
    final boolean probe;
    final long submitted = System.nanoTime();
    volatile ScheduledFuture<?> deadline;

    Task(Callable<T> body, CompletableFuture<T> result, boolean probe) {
      this.body = body;
      this.result = result;
      this.probe = probe;
    }

    /** The deadline: the call never got a thread; its place in the queue is given up. */
    void expire() {
      if (!started.compareAndSet(false, true)) {
        return;
      }
      if (executor instanceof ThreadPoolExecutor pool) {
        pool.remove(this);
      }
      if (probe) {
        breaker.open();
      }
      result.completeExceptionally(
          new StoreException(
              ErrorCode.SERVER_BUSY,
              "database busy: no database thread within "
                  + TimeUnit.NANOSECONDS.toMillis(maxWaitNanos)
                  + " ms"));
    }

    @Override
    public void run() {
      if (!started.compareAndSet(false, true)) {
        return;
      }
      ScheduledFuture<?> d = deadline;
      if (d != null) {
        d.cancel(false);
      }
      // Queued before the database was found down: fails now instead of trying it again.
      if (!probe && !breaker.isClosed()) {
        result.completeExceptionally(unreachable());
        return;
      }
      T value;
      try {
        value = body.call();
      } catch (Throwable t) {
        latency.database(System.nanoTime() - submitted, false);
        boolean closed =
            !(t instanceof StoreException) && reopening != null && reopening.closedItself(t);
        if (closed || (!(t instanceof StoreException) && connectionFailed(t))) {
          lastFailure = t;
          if (probe || breaker.isClosed()) {
            if (closed) {
              reopen();
            }
            breaker.recordFailure();
          }
        } else if (probe) {
          breaker.recordSuccess();
        }
        result.completeExceptionally(
            closed
                ? new StoreException(ErrorCode.BACKEND_UNAVAILABLE, "database unavailable", t)
                : translate(t));
        return;
      }
      latency.database(System.nanoTime() - submitted, true);
      if (probe) {
        breaker.recordSuccess();
      }
      result.complete(value);
    }
  }

  /**
   * Has the pool open the database again; one at a time (and only the failure that opens the
   * breaker, or a failed probe, gets here: not every call that was running when it closed).
   */
  private void reopen() {
    if (!reopenRunning.compareAndSet(false, true)) {
      return;
    }
    try {
      reopening.reopen();
    } catch (RuntimeException e) {
      LOG.warn("database: reopening failed; the next probe tries again", e);
    } finally {
      reopenRunning.set(false);
    }
  }

  /**
   * Whether {@code t} says no connection could be had: the pool found none within the connect
   * timeout (HikariCP's {@link SQLTransientConnectionException}), so the database is unreachable,
   * not just one connection broken.
   */
  static boolean connectionFailed(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof ConnectionException || c instanceof SQLTransientConnectionException) {
        return true;
      }
    }
    return false;
  }

  private static String describe(Throwable t) {
    if (t == null) {
      return "no connection";
    }
    return StoreConfig.redact(Causes.innermostMessage(t));
  }

  private static ScheduledThreadPoolExecutor deadlines() {
    ScheduledThreadPoolExecutor timer =
        new ScheduledThreadPoolExecutor(1, StoreExecutors.named("store-db-deadlines-"));
    timer.setRemoveOnCancelPolicy(true);
    return timer;
  }

  /** Whether {@code t} is a unique-key violation (SQLSTATE 23505 in PostgreSQL and H2). */
  public static boolean isUniqueViolation(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof SQLException sql && "23505".equals(sql.getSQLState())) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether {@code t} is a lock wait given up (H2's lock timeout, SQLSTATE HYT00; PostgreSQL's
   * {@code lock_timeout}, 55P03).
   */
  public static boolean isLockTimeout(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof SQLException sql
          && ("HYT00".equals(sql.getSQLState()) || "55P03".equals(sql.getSQLState()))) {
        return true;
      }
    }
    return false;
  }

  static Throwable translate(Throwable t) {
    if (t instanceof StoreException) {
      return t;
    }
    if (t instanceof ConnectionException || causedByConnectionLoss(t)) {
      return new StoreException(ErrorCode.BACKEND_UNAVAILABLE, "database unavailable", t);
    }
    return t;
  }

  private static boolean causedByConnectionLoss(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof SQLTransientConnectionException) {
        return true;
      }
      if (c instanceof SQLException sql) {
        String state = sql.getSQLState();
        // Class 08: connection exception; 57P01-03: the server is shutting down or restarting.
        if (state != null && (state.startsWith("08") || state.startsWith("57P0"))) {
          return true;
        }
      }
      if (c instanceof UnableToExecuteStatementException && c.getCause() == null) {
        return false;
      }
    }
    return false;
  }

  @FunctionalInterface
  private interface Callable<T> {
    T call() throws Exception;
  }
}
