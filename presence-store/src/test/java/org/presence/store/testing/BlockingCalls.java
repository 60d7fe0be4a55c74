package org.presence.store.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The blocking calls BlockHound saw on a non-blocking thread (a Netty event loop: any {@code
 * FastThreadLocalThread}, which covers the gateway's {@code gw-io-N} and Lettuce's I/O threads),
 * kept for {@link BlockingCallsExtension} to fail the test with.
 *
 * <p>{@link PresenceBlockHoundIntegration} records here instead of letting BlockHound throw on the
 * event loop: an error thrown there mostly ends in a log line or a closed channel that a test may
 * never look at, while a record here always fails the test that was running.
 */
public final class BlockingCalls {
  /** At most this many calls are kept between two checks (the first ones name the cause). */
  static final int MAX_KEPT = 50;

  private static final Queue<BlockingCall> CALLS = new ConcurrentLinkedQueue<>();
  private static final AtomicInteger DROPPED = new AtomicInteger();

  private BlockingCalls() {}

  /** One blocking call: the method BlockHound caught, the thread and where it was called from. */
  public record BlockingCall(String method, String thread, StackTraceElement[] stack) {
    /** The method, the thread and the stack below the blocking method, for a failure message. */
    public String describe() {
      StringBuilder out =
          new StringBuilder("Blocking call ").append(method).append(" on ").append(thread);
      int shown = 0;
      for (StackTraceElement frame : stack) {
        if (frame.getClassName().startsWith("reactor.blockhound.")
            || frame.getClassName().equals(BlockingCalls.class.getName())
            || frame.getClassName().startsWith(PresenceBlockHoundIntegration.class.getName())) {
          continue;
        }
        out.append("\n\tat ").append(frame);
        if (++shown == 40) {
          out.append("\n\t...");
          break;
        }
      }
      return out.toString();
    }
  }

  static void record(String method) {
    if (CALLS.size() >= MAX_KEPT) {
      DROPPED.incrementAndGet();
      return;
    }
    Thread thread = Thread.currentThread();
    CALLS.add(new BlockingCall(method, thread.getName(), new Throwable().getStackTrace()));
  }

  /** Returns and forgets the blocking calls recorded so far. */
  public static List<BlockingCall> drain() {
    List<BlockingCall> out = new ArrayList<>();
    for (BlockingCall call; (call = CALLS.poll()) != null; ) {
      out.add(call);
    }
    return out;
  }

  /** Returns and resets how many calls were not kept because {@link #MAX_KEPT} were already. */
  static int drainDropped() {
    return DROPPED.getAndSet(0);
  }
}
