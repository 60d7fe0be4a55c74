package org.presence.gateway.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The heartbeat's shared health check ({@link SharedCheck}): callers at once cost one check, a
 * caller after it ended starts another, a failure is everyone's and does not stick.
 */
class SharedCheckTest {
  private final List<CompletableFuture<String>> started = new ArrayList<>();
  private final SharedCheck<String> check =
      new SharedCheck<>(
          () -> {
            CompletableFuture<String> f = new CompletableFuture<>();
            synchronized (started) {
              started.add(f);
            }
            return f;
          });

  @Test
  void callersWhileACheckRuns_shareIt_fromManyThreads() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<CompletableFuture<String>>> calls = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        calls.add(
            pool.submit(
                () -> {
                  go.await();
                  return check.get();
                }));
      }
      go.countDown();
      List<CompletableFuture<String>> answers = new ArrayList<>();
      for (Future<CompletableFuture<String>> c : calls) {
        answers.add(c.get(10, TimeUnit.SECONDS));
      }
      assertThat(started).hasSize(1);
      started.get(0).complete("ok");
      assertThat(answers).allSatisfy(a -> assertThat(a.getNow(null)).isEqualTo("ok"));
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aCallerAfterACheckEnded_startsANewOne_andAFailureDoesNotStick() {
    CompletableFuture<String> first = check.get();
    started.get(0).completeExceptionally(new IllegalStateException("bus down"));
    assertThat(first).isCompletedExceptionally();

    CompletableFuture<String> second = check.get();
    assertThat(started).hasSize(2);
    assertThat(second).isNotDone();
    started.get(1).complete("ok");
    assertThat(second.getNow(null)).isEqualTo("ok");

    CompletableFuture<String> third = check.get();
    assertThat(started).hasSize(3);
    assertThat(third).isNotSameAs(second);
  }
}
