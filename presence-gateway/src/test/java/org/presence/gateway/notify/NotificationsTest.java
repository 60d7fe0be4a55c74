package org.presence.gateway.notify;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.TestNode;

/** Live notifications on the embedded default: one node, the H2 file and the in-process bus. */
class NotificationsTest extends NotificationsContract {
  @TempDir static Path root;
  private static TestNode node;
  private static final AtomicInteger dirs = new AtomicInteger();

  @BeforeAll
  static void start() {
    node = TestNode.start(settings(), r -> {});
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
  }

  private static Map<String, String> settings() {
    Path dir = root.resolve("node-" + dirs.incrementAndGet());
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Map<String, String> s = TestNode.baseSettings(dir);
    s.putAll(notifySettings());
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
    Map<String, String> s = settings();
    s.putAll(overrides);
    return TestNode.start(s, r -> {});
  }
}
