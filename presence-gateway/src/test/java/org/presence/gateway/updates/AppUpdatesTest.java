package org.presence.gateway.updates;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.TestNode;

/** Presence updates to applications on the embedded default: one node, no outside server. */
class AppUpdatesTest extends AppUpdatesContract {
  @TempDir static Path dataDir;
  private static TestNode node;

  @BeforeAll
  static void start() {
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.putAll(UpdatesFixture.settings());
    node = TestNode.start(s, r -> {});
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
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
  protected TestNode startNode() {
    Map<String, String> s = TestNode.baseSettings(dataDir.resolve("extra-" + System.nanoTime()));
    s.putAll(UpdatesFixture.settings());
    return TestNode.start(s, r -> {});
  }

  @Override
  protected long staleSince(long appId, long last) {
    // The in-memory log starts after a clock-based number: anything before it is from an earlier
    // run of the node, gone with it.
    return 1;
  }
}
