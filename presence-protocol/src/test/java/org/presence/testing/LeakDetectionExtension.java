package org.presence.testing;

import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class when Netty's leak detector reported an unreleased buffer while it ran, in the
 * spirit of Netty's own {@code LeakPresenceExtension}. Registered for every test class through
 * JUnit's extension auto-detection; the build runs tests with {@code
 * -Dio.netty.leakDetection.level=paranoid}, so every buffer is tracked.
 *
 * <p>A leak is only reported once the leaked buffer has been garbage-collected and the detector
 * next tracks an allocation, so after the class this forces a few GCs and allocations.
 */
public final class LeakDetectionExtension implements BeforeAllCallback, AfterAllCallback {
  @Override
  public void beforeAll(ExtensionContext context) {
    LeakRecorder.drain();
  }

  @Override
  public void afterAll(ExtensionContext context) throws InterruptedException {
    if (ResourceLeakDetector.getLevel() == ResourceLeakDetector.Level.DISABLED) {
      return;
    }
    List<String> leaks = collectLeaks();
    if (!leaks.isEmpty()) {
      fail(
          leaks.size()
              + " ByteBuf leak(s) reported while "
              + context.getDisplayName()
              + " ran:\n"
              + String.join("\n\n", leaks));
    }
  }

  /** Makes the detectors report what was collected, and returns (and forgets) all reports. */
  static List<String> collectLeaks() throws InterruptedException {
    for (int i = 0; i < 4; i++) {
      System.gc();
      Thread.sleep(20);
      // Allocations make the detectors poll their reference queues and report what was collected.
      for (int j = 0; j < 8; j++) {
        ByteBuf a = PooledByteBufAllocator.DEFAULT.directBuffer(16);
        a.release();
        ByteBuf b = UnpooledByteBufAllocator.DEFAULT.heapBuffer(16);
        b.release();
      }
    }
    return LeakRecorder.drain();
  }
}
