package org.presence.loadtest.metrics;

import java.time.Instant;

/**
 * Microsecond wall-clock time for latencies. It is anchored once to the wall clock and then
 * advances with {@link System#nanoTime()}, so it is monotonic within a process and agrees across
 * the injector processes of one machine to within the precision of the anchor (microseconds on
 * Linux). Timestamps embedded in payloads use it, so a frame sent by one process and received by
 * another still yields a latency.
 */
public final class Clock {
  private static final long ANCHOR_NANOS;
  private static final long ANCHOR_MICROS;

  static {
    Instant now = Instant.now();
    ANCHOR_NANOS = System.nanoTime();
    ANCHOR_MICROS = now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000L;
  }

  private Clock() {}

  /** Microseconds since the epoch. */
  public static long micros() {
    return ANCHOR_MICROS + (System.nanoTime() - ANCHOR_NANOS) / 1_000L;
  }

  /** Milliseconds since the epoch, on the same scale as {@link #micros()}. */
  public static long millis() {
    return micros() / 1_000L;
  }
}
