package org.presence.loadtest.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * Starts {@code n} asynchronous operations with at most {@code window} in flight, and collects what
 * they produced: the benchmarks' way of opening many sessions as fast as the server takes them
 * without an unbounded pile of pending connects.
 */
final class Window {
  /** What a run produced. */
  record Result<T>(List<T> done, int failed, Throwable firstFailure, long elapsedNanos) {}

  private Window() {}

  static <T> Result<T> run(int n, int window, IntFunction<CompletableFuture<T>> op)
      throws InterruptedException {
    Semaphore slots = new Semaphore(window);
    List<T> done = Collections.synchronizedList(new ArrayList<>(n));
    AtomicInteger failed = new AtomicInteger();
    Throwable[] first = new Throwable[1];
    long start = System.nanoTime();
    for (int i = 0; i < n; i++) {
      slots.acquire();
      op.apply(i)
          .whenComplete(
              (v, e) -> {
                if (e != null) {
                  synchronized (first) {
                    if (first[0] == null) {
                      first[0] = e;
                    }
                  }
                  failed.incrementAndGet();
                } else {
                  done.add(v);
                }
                slots.release();
              });
    }
    slots.acquire(window);
    long elapsed = System.nanoTime() - start;
    slots.release(window);
    return new Result<>(new ArrayList<>(done), failed.get(), first[0], elapsed);
  }
}
