package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.uring.IoUring;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The device channel's tests ({@link DeviceChannelTest}: the contract and the embedded default's
 * own) on nodes whose sockets run on Netty's io_uring transport ({@code gateway.transport =
 * io_uring}). Skipped where the kernel does not offer io_uring.
 */
class DeviceChannelIoUringTest extends DeviceChannelTest {
  @BeforeAll
  static void start() {
    assumeTrue(IoUring.isAvailable(), "io_uring is not available here");
    startWith(Map.of("gateway.transport", "io_uring"));
  }

  @Test
  void theNodeRunsOnIoUring() {
    assertThat(nodeA().server().transport()).isEqualTo("io_uring");
    try (var another = startNode(Map.of())) {
      assertThat(another.server().transport()).isEqualTo("io_uring");
    }
  }
}
