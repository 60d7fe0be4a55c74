package org.presence.gateway.notify;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Runs one store call for many requests: requests that arrive while {@code maxInFlight} calls are
 * running wait, and go together into the next call, as many as one call's {@link Budget} admits; a
 * lone request is sent at once. The store thus sees fewer, larger calls exactly when requests are
 * many. {@link Enqueuer} and {@link Remover} are its two uses.
 *
 * <p>Thread-safe and lock-free: {@link #submit} may be called from any thread, and the next waiting
 * batch starts on the thread that completes a call.
 *
 * @param <R> a request
 * @param <T> what one store call answers for its whole batch
 */
final class CallBatcher<R, T> {
  /** How much one call may take; a new one for every call. */
  interface Budget<R> {
    /** Whether the call is full: no more requests join it. Asked before each request is taken. */
    boolean full();

    /** Counts a request that joined the call. */
    void add(R request);
  }

  /** The store call over a batch, and how its answer is handed back to each request. */
  interface Call<R, T> {
    /** Starts the store call for {@code batch}; may throw, which fails the whole batch. */
    CompletionStage<T> start(List<R> batch);

    /**
     * Completes every request of {@code batch}: with its share of {@code result}, or with {@code
     * failure} when the call failed, for every request of the batch alike (what a failed call left
     * stored is the store's to say: see {@link Enqueuer}).
     */
    void finish(List<R> batch, T result, Throwable failure);
  }

  private final int maxInFlight;
  private final Supplier<? extends Budget<R>> budgets;
  private final Call<R, T> call;
  private final ConcurrentLinkedQueue<R> waiting = new ConcurrentLinkedQueue<>();
  private final AtomicInteger inFlight = new AtomicInteger();

  CallBatcher(int maxInFlight, Supplier<? extends Budget<R>> budgets, Call<R, T> call) {
    if (maxInFlight < 1) {
      throw new IllegalArgumentException("maxInFlight must be at least 1");
    }
    this.maxInFlight = maxInFlight;
    this.budgets = budgets;
    this.call = call;
  }

  /** Queues {@code request} for the next call, starting one at once when fewer are running. */
  void submit(R request) {
    waiting.add(request);
    drain();
  }

  private void drain() {
    while (!waiting.isEmpty()) {
      int n = inFlight.get();
      if (n >= maxInFlight) {
        return;
      }
      if (!inFlight.compareAndSet(n, n + 1)) {
        continue;
      }
      List<R> batch = new ArrayList<>();
      Budget<R> budget = budgets.get();
      R r;
      while (!budget.full() && (r = waiting.poll()) != null) {
        batch.add(r);
        budget.add(r);
      }
      if (batch.isEmpty()) {
        inFlight.decrementAndGet();
        continue;
      }
      run(batch);
    }
  }

  private void run(List<R> batch) {
    CompletionStage<T> started;
    try {
      started = call.start(batch);
    } catch (RuntimeException e) {
      started = CompletableFuture.failedFuture(e);
    }
    started.whenComplete(
        (result, failure) -> {
          inFlight.decrementAndGet();
          try {
            call.finish(batch, result, failure);
          } finally {
            drain();
          }
        });
  }
}
