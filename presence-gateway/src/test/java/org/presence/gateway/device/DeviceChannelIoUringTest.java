package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.uring.IoUring;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.TestNode;

/**
 * The device channel's contract on a node whose sockets run on Netty's io_uring transport ({@code
 * gateway.transport = io_uring}), the embedded default otherwise. Skipped where the kernel does not
 * offer io_uring.
 */
class DeviceChannelIoUringTest extends DeviceChannelContract {
  @TempDir static Path root;
  private static TestNode node;
  private static final List<Path> dirs = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void start() {
    assumeTrue(IoUring.isAvailable(), "io_uring is not available here");
    node = TestNode.start(settings("a"), r -> {});
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
  }

  private static Map<String, String> settings(String name) {
    Path dir = root.resolve(name + "-" + dirs.size());
    dirs.add(dir);
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Map<String, String> s = TestNode.baseSettings(dir);
    s.putAll(deviceSettings());
    s.put("gateway.transport", "io_uring");
    return s;
  }

  @Override
  protected TestNode nodeA() {
    return node;
  }

  @Override
  protected TestNode nodeB() {
    return node;
  }

  @Override
  protected TestNode startNode(Map<String, String> overrides) {
    Map<String, String> s = settings("extra");
    s.putAll(overrides);
    return TestNode.start(s, r -> {});
  }

  @Test
  void theNodeRunsOnIoUring() {
    assertThat(node.server().transport()).isEqualTo("io_uring");
  }
}
