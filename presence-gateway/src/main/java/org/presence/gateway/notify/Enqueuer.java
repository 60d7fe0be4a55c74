package org.presence.gateway.notify;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.presence.store.queue.NotificationQueues;

/**
 * Stores batches of notifications, several batches per store call: batches that arrive while
 * {@code maxInFlight} calls are running wait and go together in the next {@link
 * NotificationQueues#enqueueAll} (up to about {@code maxEntries} items), so under load the store
 * commits fewer, larger transactions (one Lua script in Redis), and a lone batch is stored at once.
 * Each batch still completes only once its items are stored; a store call that fails fails every
 * batch merged into it (none of them was stored: the call is atomic).
 */
final class Enqueuer {
  private record Request(
      List<NotificationQueues.Entry> entries,
      CompletableFuture<List<NotificationQueues.Enqueued>> done) {}

  private final NotificationQueues queues;
  private final int maxEntries;
  private final int maxInFlight;
  private final ConcurrentLinkedQueue<Request> waiting = new ConcurrentLinkedQueue<>();
  private final AtomicInteger inFlight = new AtomicInteger();

  Enqueuer(NotificationQueues queues, int maxEntries, int maxInFlight) {
    this.queues = queues;
    this.maxEntries = maxEntries;
    this.maxInFlight = maxInFlight;
  }

  /** Stores {@code entries}; completes with one result each, in order, once they are stored. */
  CompletionStage<List<NotificationQueues.Enqueued>> enqueue(List<NotificationQueues.Entry> entries) {
    CompletableFuture<List<NotificationQueues.Enqueued>> done = new CompletableFuture<>();
    waiting.add(new Request(entries, done));
    drain();
    return done;
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
      List<Request> batch = new ArrayList<>();
      int entries = 0;
      Request r;
      while (entries < maxEntries && (r = waiting.poll()) != null) {
        batch.add(r);
        entries += r.entries().size();
      }
      if (batch.isEmpty()) {
        inFlight.decrementAndGet();
        continue;
      }
      run(batch, entries);
    }
  }

  private void run(List<Request> batch, int size) {
    List<NotificationQueues.Entry> all = new ArrayList<>(size);
    for (Request r : batch) {
      all.addAll(r.entries());
    }
    CompletionStage<List<NotificationQueues.Enqueued>> call;
    try {
      call = queues.enqueueAll(all);
    } catch (RuntimeException e) {
      call = CompletableFuture.failedFuture(e);
    }
    call.whenComplete(
        (results, e) -> {
          inFlight.decrementAndGet();
          int from = 0;
          for (Request r : batch) {
            int to = from + r.entries().size();
            if (e != null) {
              r.done().completeExceptionally(e);
            } else {
              r.done().complete(List.copyOf(results.subList(from, to)));
            }
            from = to;
          }
          drain();
        });
  }
}
