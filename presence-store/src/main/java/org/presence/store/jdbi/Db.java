package org.presence.store.jdbi;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.jdbi.v3.core.ConnectionException;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.error.StoreException;
import org.presence.store.metrics.StoreLatency;

/**
 * Runs Jdbi work on the bounded {@code store-db} pool and hands back a {@link CompletionStage}, so
 * that no caller ever blocks on the database. Failures come back as {@link StoreException}s with
 * the error code to answer: a full pool is {@code SERVER_BUSY}, an unreachable database {@code
 * BACKEND_UNAVAILABLE}.
 */
public final class Db {
  /** A unit of database work on an open handle. */
  @FunctionalInterface
  public interface Work<T> {
    T run(Handle handle) throws Exception;
  }

  private final Jdbi jdbi;
  private final Executor executor;
  private volatile StoreLatency latency = StoreLatency.NONE;

  public Db(Jdbi jdbi, Executor executor) {
    this.jdbi = jdbi;
    this.executor = executor;
  }

  /** The Jdbi instance, for synchronous use off the event loops (migrations, tests). */
  public Jdbi jdbi() {
    return jdbi;
  }

  /** Tells {@code latency} how long each call takes from now on. */
  public void observe(StoreLatency latency) {
    this.latency = latency;
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
    long submitted = System.nanoTime();
    try {
      executor.execute(
          () -> {
            T value;
            try {
              value = body.call();
            } catch (Throwable t) {
              latency.database(System.nanoTime() - submitted, false);
              result.completeExceptionally(translate(t));
              return;
            }
            latency.database(System.nanoTime() - submitted, true);
            result.complete(value);
          });
    } catch (RejectedExecutionException e) {
      boolean closed =
          executor instanceof java.util.concurrent.ExecutorService es && es.isShutdown();
      result.completeExceptionally(
          closed
              ? new StoreException(ErrorCode.BACKEND_UNAVAILABLE, "database closed", e)
              : new StoreException(ErrorCode.SERVER_BUSY, "database queue full", e));
    }
    return result;
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
