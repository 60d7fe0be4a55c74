package org.presence.gateway.ops;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * A check that callers share while it runs: a caller that comes while one is in flight gets that
 * one's answer, a caller that comes after it ended starts a new one (an ended check's answer is
 * never reused). However many callers come at once, at most one check runs.
 *
 * @param <T> the check's answer
 */
final class SharedCheck<T> {
  private final Supplier<? extends CompletionStage<T>> check;
  private final AtomicReference<CompletableFuture<T>> running = new AtomicReference<>();

  SharedCheck(Supplier<? extends CompletionStage<T>> check) {
    this.check = check;
  }

  /** The answer of the check in flight, or of a new one started now. */
  CompletableFuture<T> get() {
    while (true) {
      CompletableFuture<T> current = running.get();
      if (current != null) {
        return current;
      }
      CompletableFuture<T> mine = new CompletableFuture<>();
      if (running.compareAndSet(null, mine)) {
        CompletionStage<T> started;
        try {
          started = check.get();
        } catch (RuntimeException e) {
          running.compareAndSet(mine, null);
          mine.completeExceptionally(e);
          return mine;
        }
        started.whenComplete(
            (v, e) -> {
              running.compareAndSet(mine, null);
              if (e != null) {
                mine.completeExceptionally(e);
              } else {
                mine.complete(v);
              }
            });
        return mine;
      }
    }
  }
}
