package org.presence.store.testing;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;

/**
 * The rounds of work a test's load thread has made, for the test's own thread to wait until more
 * have been made (while it moves a slot, kills a server, and so on).
 */
public final class Rounds {
  private final AtomicInteger made = new AtomicInteger();

  /** Counts one more round made. */
  public void made() {
    made.incrementAndGet();
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
