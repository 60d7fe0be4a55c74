package org.presence.store.testing;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import org.awaitility.Awaitility;

/**
 * Rounds of work a test's load thread makes while the test's own thread does something to the
 * servers under it (moves a slot, kills a server), waiting for more rounds in between ({@link
 * #awaitMore}).
 */
public final class Rounds {
  /** What the test's thread does meanwhile. */
  public interface Meanwhile {
    void run(Rounds rounds) throws Exception;
  }

  private static final int MOST = 5_000;

  private final AtomicInteger made = new AtomicInteger();
  private final AtomicBoolean stop = new AtomicBoolean();

  private Rounds() {}

  /**
   * Calls {@code round} with 0, 1, 2... (at most 5,000 rounds) on a thread of its own named {@code
   * name} while {@code meanwhile} runs on the caller's; then stops the rounds and waits for the
   * last one to end.
   */
  public static void during(String name, IntConsumer round, Meanwhile meanwhile) throws Exception {
    Rounds rounds = new Rounds();
    Thread load =
        new Thread(
            () -> {
              for (int i = 0; !rounds.stop.get() && i < MOST; i++) {
                round.accept(i);
                rounds.made.incrementAndGet();
              }
            },
            name);
    load.start();
    try {
      meanwhile.run(rounds);
    } finally {
      rounds.stop.set(true);
      load.join(30_000);
    }
  }

  /** Waits, at most a minute, until {@code more} rounds have been made after this call. */
  public void awaitMore(int more) {
    int target = made.get() + more;
    Awaitility.await("rounds of work")
        .atMost(Duration.ofMinutes(1))
        .pollInterval(Duration.ofMillis(5))
        .until(() -> made.get() >= target);
  }
}
