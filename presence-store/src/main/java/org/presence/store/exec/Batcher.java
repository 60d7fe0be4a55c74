package org.presence.store.exec;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.ToIntFunction;

/**
 * Items sent in batches by an asynchronous call, at most {@code maxInFlight} calls at once: items
 * submitted while that many calls run wait and go together into the next call, up to {@code
 * maxWeight}; a lone item goes at once, so an idle sender adds no delay and a busy one batches
 * about one call's worth. Batches are formed and their calls made in submission order.
 *
 * <p>Calls that go to a Redis connection are made on {@link #serialSender()}, one thread: Netty
 * writes at once what its own event loop writes and queues what other threads write, so a call made
 * from a Lettuce I/O thread (a finished call's callback) could reach Redis before one made just
 * earlier from another thread, and one user's statuses would be decided out of order. On one thread
 * the writes reach the connection in the order the calls were made. Calls to something in memory
 * are made by whichever thread submits or finishes a call ({@code sender == null}).
 *
 * @param <T> an item, completed by the call or by {@code failed}
 */
public final class Batcher<T> {
  /** One call for a batch. */
  @FunctionalInterface
  public interface Call<T> {
    /** Sends {@code batch}; completes once its items are answered. */
    CompletionStage<?> run(List<T> batch);
  }

  private static final class Shared {
    static final Executor SENDER =
        Executors.newSingleThreadExecutor(StoreExecutors.named("presence-batch-sender-"));
  }

  /** The one thread on which calls to Redis are made, shared by every batcher that asks for it. */
  public static Executor serialSender() {
    return Shared.SENDER;
  }

  private final ConcurrentLinkedQueue<T> waiting = new ConcurrentLinkedQueue<>();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private final int maxInFlight;
  private final int maxWeight;
  private final ToIntFunction<T> weight;
  private final Call<T> call;
  private final BiConsumer<List<T>, RuntimeException> failed;
  private final Executor sender;

  /**
   * @param weight an item's weight; a batch holds at least one item and otherwise at most {@code
   *     maxWeight}
   * @param failed answers a batch whose call threw instead of returning a stage
   * @param sender where calls are made, {@code null} for the submitting or finishing thread
   */
  public Batcher(
      int maxInFlight,
      int maxWeight,
      ToIntFunction<T> weight,
      Call<T> call,
      BiConsumer<List<T>, RuntimeException> failed,
      Executor sender) {
    this.maxInFlight = maxInFlight;
    this.maxWeight = maxWeight;
    this.weight = weight;
    this.call = call;
    this.failed = failed;
    this.sender = sender;
  }

  /** Queues {@code item}; it goes in the next batch that has room. */
  public void submit(T item) {
    waiting.add(item);
    kick();
  }

  /**
   * Has the waiting items drained. Nothing to do while {@code maxInFlight} calls run: the first of
   * them to finish kicks again, and its drain sees every item queued before this check (it lowers
   * {@link #inFlight} before it kicks). At saturation that is nearly every submit, which would
   * otherwise wake the sender's thread for a drain that takes nothing.
   */
  private void kick() {
    if (inFlight.get() >= maxInFlight) {
      return;
    }
    if (sender == null) {
      drain();
    } else if (scheduled.compareAndSet(false, true)) {
      sender.execute(
          () -> {
            scheduled.set(false);
            drain();
          });
    }
  }

  /**
   * Takes the waiting items into batches and makes their calls. Synchronized: two threads draining
   * at once (a submitter and a finished call's callback) would otherwise interleave their polls and
   * race their calls.
   */
  private synchronized void drain() {
    while (!waiting.isEmpty()) {
      // Only this (locked) loop adds to inFlight; a finished call may lower it meanwhile.
      if (inFlight.get() >= maxInFlight) {
        return;
      }
      inFlight.incrementAndGet();
      List<T> batch = take();
      CompletionStage<?> done;
      try {
        done = call.run(batch);
      } catch (RuntimeException e) {
        failed.accept(batch, e);
        done = null;
      }
      if (done == null || (done instanceof CompletableFuture<?> f && f.isDone())) {
        // Answered at once (a call to something in memory): this loop takes what waits, with no
        // stage chained on the call.
        inFlight.decrementAndGet();
        continue;
      }
      done.whenComplete(
          (v, e) -> {
            inFlight.decrementAndGet();
            kick();
          });
    }
  }

  /**
   * The next batch, from a waiting queue that is not empty: a list of one when one item waits (the
   * usual case when calls answer at once).
   */
  private List<T> take() {
    T first = waiting.poll();
    int w = weight.applyAsInt(first);
    T next = waiting.peek();
    if (next == null || w + weight.applyAsInt(next) > maxWeight) {
      return List.of(first);
    }
    List<T> batch = new ArrayList<>();
    batch.add(first);
    while (next != null && w + weight.applyAsInt(next) <= maxWeight) {
      waiting.poll();
      batch.add(next);
      w += weight.applyAsInt(next);
      next = waiting.peek();
    }
    return batch;
  }
}
