package org.presence.store.testing;

import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import reactor.blockhound.BlockHound;

/**
 * Fails a test during which BlockHound saw a blocking call on a Netty event loop (see {@link
 * BlockingCalls}), after each test and after the class (for what a class's shutdown did).
 * Registered for every test class of the modules that have BlockHound on their test classpath
 * (presence-store, presence-gateway) through JUnit's extension auto-detection; BlockHound itself is
 * installed when the test JVM starts, by {@code blockhound-junit-platform}.
 */
public final class BlockingCallsExtension
    implements BeforeAllCallback, AfterEachCallback, AfterAllCallback {
  @Override
  public void beforeAll(ExtensionContext context) {
    // Normally installed already by blockhound-junit-platform; installing again is a no-op.
    BlockHound.install();
    List<BlockingCalls.BlockingCall> earlier = BlockingCalls.drain();
    BlockingCalls.drainDropped();
    if (!earlier.isEmpty()) {
      // Made after the previous class was checked (its threads were still stopping).
      Assertions.fail(report(earlier, 0, "before " + context.getDisplayName() + " started"));
    }
  }

  @Override
  public void afterEach(ExtensionContext context) {
    check(context);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    check(context);
  }

  private static void check(ExtensionContext context) {
    List<BlockingCalls.BlockingCall> calls = BlockingCalls.drain();
    int dropped = BlockingCalls.drainDropped();
    if (!calls.isEmpty()) {
      Assertions.fail(report(calls, dropped, "while " + context.getDisplayName() + " ran"));
    }
  }

  private static String report(List<BlockingCalls.BlockingCall> calls, int dropped, String when) {
    return (calls.size() + dropped)
        + " blocking call(s) on a Netty event loop "
        + when
        + " (move the work off the event loop; see docs/architecture.md, Threads):\n"
        + calls.stream()
            .map(BlockingCalls.BlockingCall::describe)
            .collect(Collectors.joining("\n\n"));
  }
}
