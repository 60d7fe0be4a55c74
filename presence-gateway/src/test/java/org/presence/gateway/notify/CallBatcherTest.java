package org.presence.gateway.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The batching of store calls shared by {@link Enqueuer} and {@link Remover}. */
class CallBatcherTest {
  /** A request: a value to send and the future its caller waits on. */
  private record Req(int value, CompletableFuture<Integer> done) {
    Req(int value) {
      this(value, new CompletableFuture<>());
    }
  }

  /** At most {@code max} requests per call. */
  private static CallBatcher.Budget<Req> atMost(int max) {
    return new CallBatcher.Budget<>() {
      private int n;

      @Override
      public boolean full() {
        return n >= max;
      }

      @Override
      public void add(Req r) {
        n++;
      }
    };
  }

  /**
   * A store whose calls complete when the test says: each call is recorded with its batch and
   * answers the sum of its values; each request gets that sum.
   */
  private static final class HeldStore implements CallBatcher.Call<Req, Integer> {
    final List<List<Integer>> batches = new CopyOnWriteArrayList<>();
    final List<CompletableFuture<Integer>> calls = new CopyOnWriteArrayList<>();
    final AtomicInteger running = new AtomicInteger();
    volatile int maxRunning;

    @Override
    public CompletionStage<Integer> start(List<Req> batch) {
      maxRunning = Math.max(maxRunning, running.incrementAndGet());
      batches.add(batch.stream().map(Req::value).toList());
      CompletableFuture<Integer> call = new CompletableFuture<>();
      calls.add(call);
      return call.whenComplete((v, e) -> running.decrementAndGet());
    }

    @Override
    public void finish(List<Req> batch, Integer result, Throwable failure) {
      for (Req r : batch) {
        if (failure != null) {
          r.done().completeExceptionally(failure);
        } else {
          r.done().complete(result);
        }
      }
    }

    void answer(int call) {
      calls.get(call).complete(batches.get(call).stream().mapToInt(Integer::intValue).sum());
    }
  }

  @Test
  void submit_whenIdle_thenCallsAtOnceWithTheLoneRequest() throws Exception {
    HeldStore store = new HeldStore();
    CallBatcher<Req, Integer> batcher = new CallBatcher<>(2, () -> atMost(10), store);
    Req r = new Req(7);
    batcher.submit(r);
    assertThat(store.batches).containsExactly(List.of(7));
    store.answer(0);
    assertThat(r.done().get(5, TimeUnit.SECONDS)).isEqualTo(7);
  }

  @Test
  void submit_whileCallsRun_thenWaitingRequestsGoTogetherInTheNextCall() throws Exception {
    HeldStore store = new HeldStore();
    CallBatcher<Req, Integer> batcher = new CallBatcher<>(1, () -> atMost(10), store);
    Req first = new Req(1);
    batcher.submit(first);
    List<Req> later = new ArrayList<>();
    for (int i = 2; i <= 5; i++) {
      Req r = new Req(i);
      later.add(r);
      batcher.submit(r);
    }
    assertThat(store.batches).as("one call runs; the others wait").containsExactly(List.of(1));
    store.answer(0);
    assertThat(first.done().get(5, TimeUnit.SECONDS)).isEqualTo(1);
    assertThat(store.batches).containsExactly(List.of(1), List.of(2, 3, 4, 5));
    store.answer(1);
    for (Req r : later) {
      assertThat(r.done().get(5, TimeUnit.SECONDS)).isEqualTo(14);
    }
  }

  @Test
  void submit_moreThanTheBudget_thenSplitsIntoCallsInOrder() {
    HeldStore store = new HeldStore();
    CallBatcher<Req, Integer> batcher = new CallBatcher<>(1, () -> atMost(2), store);
    for (int i = 1; i <= 6; i++) {
      batcher.submit(new Req(i));
    }
    store.answer(0);
    store.answer(1);
    store.answer(2);
    assertThat(store.batches).containsExactly(List.of(1), List.of(2, 3), List.of(4, 5), List.of(6));
  }

  @Test
  void submit_manyThreads_thenNeverMoreCallsThanMaxInFlight_andEveryRequestCompletes()
      throws Exception {
    HeldStore store = new HeldStore();
    CallBatcher<Req, Integer> batcher = new CallBatcher<>(3, () -> atMost(5), store);
    List<Req> all = new CopyOnWriteArrayList<>();
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      Thread th =
          new Thread(
              () -> {
                try {
                  go.await();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                  return;
                }
                for (int i = 0; i < 50; i++) {
                  Req r = new Req(1);
                  all.add(r);
                  batcher.submit(r);
                }
              });
      th.start();
      threads.add(th);
    }
    go.countDown();
    // Answer calls as they come until every request is done (bounded: 200 requests, 10 s).
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    int answered = 0;
    while (System.nanoTime() < deadline
        && (threads.stream().anyMatch(Thread::isAlive)
            || all.stream().anyMatch(r -> !r.done().isDone()))) {
      if (answered < store.calls.size()) {
        store.answer(answered++);
      } else {
        Thread.onSpinWait();
      }
    }
    for (Thread th : threads) {
      th.join(5_000);
    }
    assertThat(all).hasSize(200).allMatch(r -> r.done().isDone());
    assertThat(store.maxRunning).isBetween(1, 3);
    assertThat(store.batches.stream().mapToInt(List::size).sum()).isEqualTo(200);
    assertThat(store.batches).allMatch(b -> b.size() <= 5);
  }

  @Test
  void failedCall_thenFailsEveryMergedRequest_andTheNextCallStillRuns() throws Exception {
    HeldStore store = new HeldStore();
    CallBatcher<Req, Integer> batcher = new CallBatcher<>(1, () -> atMost(10), store);
    Req first = new Req(1);
    Req second = new Req(2);
    Req third = new Req(3);
    batcher.submit(first);
    batcher.submit(second);
    batcher.submit(third);
    store.calls.get(0).completeExceptionally(new IllegalStateException("store down"));
    assertThatThrownBy(() -> first.done().get(5, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .hasRootCauseMessage("store down");
    store.calls.get(1).completeExceptionally(new IllegalStateException("still down"));
    assertThatThrownBy(() -> second.done().get(5, TimeUnit.SECONDS))
        .hasRootCauseMessage("still down");
    assertThatThrownBy(() -> third.done().get(5, TimeUnit.SECONDS))
        .hasRootCauseMessage("still down");
    Req after = new Req(4);
    batcher.submit(after);
    store.answer(2);
    assertThat(after.done().get(5, TimeUnit.SECONDS)).isEqualTo(4);
  }

  @Test
  void callThatThrowsOnStart_thenFailsItsBatch_andReleasesItsSlot() throws Exception {
    AtomicInteger starts = new AtomicInteger();
    CallBatcher.Call<Req, Integer> call =
        new CallBatcher.Call<>() {
          @Override
          public CompletionStage<Integer> start(List<Req> batch) {
            if (starts.incrementAndGet() == 1) {
              throw new IllegalArgumentException("refused");
            }
            return CompletableFuture.completedFuture(batch.size());
          }

          @Override
          public void finish(List<Req> batch, Integer result, Throwable failure) {
            batch.forEach(
                r -> {
                  if (failure != null) {
                    r.done().completeExceptionally(failure);
                  } else {
                    r.done().complete(result);
                  }
                });
          }
        };
    CallBatcher<Req, Integer> batcher = new CallBatcher<>(1, () -> atMost(10), call);
    Req refused = new Req(1);
    batcher.submit(refused);
    assertThatThrownBy(() -> refused.done().get(5, TimeUnit.SECONDS))
        .hasRootCauseInstanceOf(IllegalArgumentException.class);
    Req next = new Req(2);
    batcher.submit(next);
    assertThat(next.done().get(5, TimeUnit.SECONDS)).isEqualTo(1);
  }
}
