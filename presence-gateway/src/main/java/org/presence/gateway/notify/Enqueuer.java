package org.presence.gateway.notify;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.store.queue.NotificationQueues;

/**
 * Stores batches of notifications, several batches per store call ({@link CallBatcher}): batches
 * that arrive while {@code maxInFlight} calls are running go together in the next {@link
 * NotificationQueues#enqueueAll} (up to about {@code maxEntries} items), so under load the store
 * commits fewer, larger transactions (one Lua script in Redis), and a lone batch is stored at once.
 * Each batch still completes only once its items are stored; a store call that fails fails every
 * batch merged into it (none of them was stored: the call is atomic; except that with {@code
 * store.redis.ack-replicas} a call whose {@code WAIT} falls short may have stored them all).
 */
final class Enqueuer {
  private record Request(
      List<NotificationQueues.Entry> entries,
      CompletableFuture<List<NotificationQueues.Enqueued>> done) {}

  /** Counts items, not batches: a call takes batches until it holds {@code maxEntries} items. */
  private static final class Items implements CallBatcher.Budget<Request> {
    private final int max;
    private int taken;

    Items(int max) {
      this.max = max;
    }

    @Override
    public boolean full() {
      return taken >= max;
    }

    @Override
    public void add(Request r) {
      taken += r.entries().size();
    }
  }

  /** The store call over the entries of the batches merged into it. */
  interface Store {
    CompletionStage<List<NotificationQueues.Enqueued>> enqueue(
        List<NotificationQueues.Entry> entries);
  }

  private final CallBatcher<Request, List<NotificationQueues.Enqueued>> batcher;
  private final boolean wakes;

  Enqueuer(NotificationQueues queues, int maxEntries, int maxInFlight) {
    this(queues::enqueueAll, false, maxEntries, maxInFlight);
  }

  /**
   * Stores with {@code store}; {@code wakes} when that call also wakes the recipients' sessions
   * ({@link NotificationDelivery#enqueueAndWake}), so nothing is to look them up afterwards.
   */
  Enqueuer(Store store, boolean wakes, int maxEntries, int maxInFlight) {
    this.wakes = wakes;
    this.batcher =
        new CallBatcher<>(
            maxInFlight,
            () -> new Items(maxEntries),
            new CallBatcher.Call<>() {
              @Override
              public CompletionStage<List<NotificationQueues.Enqueued>> start(List<Request> batch) {
                List<NotificationQueues.Entry> all = new ArrayList<>();
                for (Request r : batch) {
                  all.addAll(r.entries());
                }
                return store.enqueue(all);
              }

              @Override
              public void finish(
                  List<Request> batch, List<NotificationQueues.Enqueued> results, Throwable e) {
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
              }
            });
  }

  /**
   * Whether the store call also woke the entries' sessions ({@link #Enqueuer(Store, boolean, int,
   * int)}).
   */
  boolean wakes() {
    return wakes;
  }

  /** Stores {@code entries}; completes with one result each, in order, once they are stored. */
  CompletionStage<List<NotificationQueues.Enqueued>> enqueue(
      List<NotificationQueues.Entry> entries) {
    CompletableFuture<List<NotificationQueues.Enqueued>> done = new CompletableFuture<>();
    batcher.submit(new Request(entries, done));
    return done;
  }
}
