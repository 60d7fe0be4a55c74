package org.presence.gateway.device;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.TestCluster;
import org.presence.gateway.testing.TestNode;

/**
 * The device channel on a two-node cluster: PostgreSQL and Redis from {@code bin/test-all}, two
 * nodes sharing them (and one development key, so a token from either works on both). Sessions on
 * one node are replaced from the other, events made on one reach the other's bus.
 */
class DeviceChannelIT extends DeviceChannelContract {
  @TempDir static Path root;
  private static TestCluster cluster;
  private static TestNode a;
  private static TestNode b;
  private static final List<TestNode> started = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void start() {
    cluster = TestCluster.create(DeviceChannelIT.class, root, "it-node", deviceSettings());
    a = cluster.start(Map.of());
    b = cluster.start(Map.of());
  }

  @AfterAll
  static void stop() {
    for (TestNode n : new TestNode[] {a, b}) {
      if (n != null) {
        n.close();
      }
    }
    started.forEach(TestNode::close);
    if (cluster != null) {
      cluster.close();
    }
  }

  @Override
  protected TestNode nodeA() {
    return a;
  }

  @Override
  protected TestNode nodeB() {
    return b;
  }

  @Override
  protected TestNode startNode(Map<String, String> overrides) {
    TestNode n = cluster.start(overrides);
    started.add(n);
    return n;
  }
}
