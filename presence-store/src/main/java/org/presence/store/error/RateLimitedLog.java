package org.presence.store.error;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;

/**
 * A WARN (or ERROR) line that a flood of the same failure (every call during an outage) writes at
 * most once per interval: the first at once, then one per interval saying how many were left out
 * since. Thread-safe, without a lock.
 */
public final class RateLimitedLog {
  private final Logger log;
  private final long everyNanos;
  private final AtomicLong next = new AtomicLong(System.nanoTime());
  private final LongAdder left = new LongAdder();

  public RateLimitedLog(Logger log, Duration every) {
    this.log = log;
    this.everyNanos = every.toNanos();
  }

  /**
   * Logs {@code line} at WARN, or counts it when a line was logged less than the interval ago;
   * whether it was logged.
   */
  public boolean warn(String line) {
    return log(false, line);
  }

  /** As {@link #warn}, at ERROR: a failure an operator must see, but once per interval. */
  public boolean error(String line) {
    return log(true, line);
  }

  private boolean log(boolean error, String line) {
    long now = System.nanoTime();
    long n = next.get();
    if (now - n < 0 || !next.compareAndSet(n, now + everyNanos)) {
      left.increment();
      return false;
    }
    long more = left.sumThenReset();
    String text = more == 0 ? line : line + " (" + more + " more left out before this one)";
    if (error) {
      log.error("{}", text);
    } else {
      log.warn("{}", text);
    }
    return true;
  }
}
