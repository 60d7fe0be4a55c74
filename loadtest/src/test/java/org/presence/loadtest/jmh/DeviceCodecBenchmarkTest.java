package org.presence.loadtest.jmh;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.presence.protocol.device.DeviceMessage.StatusUpdate;
import org.presence.protocol.model.PresenceStatus;

/** The benchmark's operations do what they measure (its speed is judged in BENCHMARKS.md). */
class DeviceCodecBenchmarkTest {
  @Test
  void operations_decodeTheStatusFrameAndWriteTheAck() {
    DeviceCodecBenchmark b = new DeviceCodecBenchmark();
    b.setUp();
    try {
      for (int i = 0; i < 3; i++) {
        StatusUpdate u = (StatusUpdate) b.decodeOnly();
        assertThat(u.status()).isEqualTo(PresenceStatus.ONLINE);
        assertThat(b.encodeAckOnly()).isEqualTo("{\"result\":true}".length());
      }
    } finally {
      b.tearDown();
    }
  }
}
