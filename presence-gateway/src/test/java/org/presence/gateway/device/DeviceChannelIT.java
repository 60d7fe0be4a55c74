package org.presence.gateway.device;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.identity.DevIdentity;
import org.presence.gateway.testing.TestNode;
import org.presence.store.testing.Backends;

/**
 * The device channel on a two-node cluster: PostgreSQL and Redis from {@code bin/test-all}, two
 * nodes sharing them (and one development key, so a token from either works on both). Sessions on
 * one node are replaced from the other, events made on one reach the other's bus.
 */
class DeviceChannelIT extends DeviceChannelContract {
  @TempDir static Path root;
  private static String schema;
  private static String prefix;
  private static Path keyDir;
  private static TestNode a;
  private static TestNode b;
  private static final AtomicInteger nodes = new AtomicInteger();
  private static final List<TestNode> started = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void start() {
    Backends.databaseUrl();
    Backends.redisUrl();
    schema = Backends.uniqueSchema(DeviceChannelIT.class);
    prefix = Backends.uniquePrefix(DeviceChannelIT.class);
    keyDir = root.resolve("key");
    DevIdentity.loadOrCreate(keyDir);
    a = TestNode.start(settings(), r -> {});
    b = TestNode.start(settings(), r -> {});
  }

  @AfterAll
  static void stop() {
    for (TestNode n : new TestNode[] {a, b}) {
      if (n != null) {
        n.close();
      }
    }
    if (schema != null) {
      Backends.dropSchema(schema);
    }
  }

  /** Settings of one more node of the cluster, with the shared development key in its data dir. */
  private static Map<String, String> settings() {
    int n = nodes.incrementAndGet();
    Path dir = root.resolve("node-" + n);
    try {
      Files.createDirectories(dir);
      Files.copy(keyDir.resolve(DevIdentity.KEY_FILE), dir.resolve(DevIdentity.KEY_FILE));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Map<String, String> s = TestNode.baseSettings(dir);
    s.putAll(deviceSettings());
    s.put("node-id", "it-node-" + n);
    s.put("store.database.url", Backends.databaseUrl());
    s.put("store.database.schema", schema);
    s.put("store.redis.url", Backends.redisUrl());
    s.put("store.redis.key-prefix", prefix);
    return s;
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
    Map<String, String> s = settings();
    s.putAll(overrides);
    TestNode n = TestNode.start(s, r -> {});
    started.add(n);
    return n;
  }
}
