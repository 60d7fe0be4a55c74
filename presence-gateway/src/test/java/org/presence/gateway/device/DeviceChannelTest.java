package org.presence.gateway.device;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.TestNode;

/** The device channel on the embedded default: one node, H2 and the in-process bus. */
class DeviceChannelTest extends DeviceChannelContract {
  @TempDir static Path root;
  private static TestNode node;
  private static final List<Path> dirs = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void start() {
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
}
