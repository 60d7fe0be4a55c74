package org.presence.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.Test;

class LeakDetectionExtensionTest {
  @Test
  void testsRunWithParanoidLeakDetection() {
    assertThat(ResourceLeakDetector.getLevel()).isEqualTo(ResourceLeakDetector.Level.PARANOID);
  }

  @Test
  void collectLeaks_whenABufferIsDroppedUnreleased_thenItIsReported() throws Exception {
    leakOne();
    assertThat(LeakDetectionExtension.collectLeaks()).isNotEmpty();
  }

  @Test
  void collectLeaks_whenEveryBufferIsReleased_thenNothingIsReported() throws Exception {
    LeakDetectionExtension.collectLeaks();
    ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(64);
    buf.writeLong(42);
    buf.release();
    assertThat(LeakDetectionExtension.collectLeaks()).isEmpty();
  }

  private static void leakOne() {
    ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(64);
    buf.writeLong(7);
  }
}
