package org.presence.store.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class BatcherTest {
  /** The calls made, each with its batch and the stage that finishes it. */
  private final List<List<Integer>> batches = new ArrayList<>();

  private final List<CompletableFuture<Void>> calls = new ArrayList<>();

  private final List<Integer> failed = new ArrayList<>();

  /** A sender that runs what it is given when the test says, counting the tasks. */
  private final ConcurrentLinkedQueue<Runnable> senderTasks = new ConcurrentLinkedQueue<>();

  private final AtomicInteger senderRuns = new AtomicInteger();

  private final Executor sender =
      task -> {
        senderRuns.incrementAndGet();
        senderTasks.add(task);
      };

  private Batcher<Integer> batcher(int maxInFlight, int maxWeight, Executor on) {
    return new Batcher<>(
        maxInFlight,
        maxWeight,
        i -> 1,
        batch -> {
          batches.add(List.copyOf(batch));
          CompletableFuture<Void> done = new CompletableFuture<>();
          calls.add(done);
          return done;
        },
        (batch, e) -> failed.addAll(batch),
        on);
  }

  private void runSender() {
    Runnable r;
    while ((r = senderTasks.poll()) != null) {
      r.run();
    }
  }

  @Test
  void aLoneItemGoesAtOnce() {
    Batcher<Integer> b = batcher(2, 10, null);
    b.submit(1);
    assertEquals(List.of(List.of(1)), batches);
  }

  @Test
  void itemsArrivingWhileCallsRunGoTogetherInOrder_upToTheWeight() {
    Batcher<Integer> b = batcher(2, 3, null);
    b.submit(1);
    b.submit(2);
    for (int i = 3; i <= 9; i++) {
      b.submit(i);
    }
    assertEquals(List.of(List.of(1), List.of(2)), batches);
    calls.get(0).complete(null);
    assertEquals(List.of(3, 4, 5), batches.get(2));
    calls.get(1).complete(null);
    assertEquals(List.of(6, 7, 8), batches.get(3));
    calls.get(2).complete(null);
    assertEquals(List.of(9), batches.get(4));
    assertEquals(5, batches.size());
  }

  @Test
  void whileEveryCallRuns_aSubmitDoesNotWakeTheSender() {
    Batcher<Integer> b = batcher(2, 1000, sender);
    b.submit(0);
    runSender();
    b.submit(1);
    runSender();
    assertEquals(2, batches.size());
    int before = senderRuns.get();
    for (int i = 2; i < 102; i++) {
      b.submit(i);
    }
    // Both calls run: nothing can be sent, so the sender is not handed a drain per item.
    assertEquals(before, senderRuns.get());
    calls.get(0).complete(null);
    runSender();
    assertEquals(3, batches.size());
    List<Integer> expected = new ArrayList<>();
    for (int i = 2; i < 102; i++) {
      expected.add(i);
    }
    assertEquals(expected, batches.get(2));
    assertTrue(senderRuns.get() - before <= 1, "one drain after the call finished");
  }

  @Test
  void aCallThatThrowsAnswersItsBatchAndTheNextGoes() {
    List<List<Integer>> seen = new ArrayList<>();
    Batcher<Integer> b =
        new Batcher<>(
            1,
            10,
            i -> 1,
            batch -> {
              seen.add(List.copyOf(batch));
              if (batch.contains(1)) {
                throw new IllegalStateException("down");
              }
              return CompletableFuture.completedFuture(null);
            },
            (batch, e) -> failed.addAll(batch),
            null);
    b.submit(1);
    b.submit(2);
    assertEquals(List.of(1), failed);
    assertEquals(List.of(List.of(1), List.of(2)), seen);
  }
}
