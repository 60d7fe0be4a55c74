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
import org.presence.gateway.identity.DevIdentity;
import org.presence.gateway.testing.TestNode;
import org.presence.store.testing.Backends;

/**
 * Live notifications on a two-node cluster: PostgreSQL and Redis from {@code bin/test-all}, the
 * queues in Redis, two nodes sharing them (and one development key). Items posted to node A reach
 * devices on node B through the bus; receipts published by either appear on the Redis bus.
 */
class NotificationsIT extends NotificationsContract {
  @TempDir static Path root;
  private static String schema;
  private static String prefix;
  private static Path keyDir;
  private static TestNode a;
  private static TestNode b;
  private static final AtomicInteger nodes = new AtomicInteger();

  @BeforeAll
  static void start() {
    Backends.databaseUrl();
    Backends.redisUrl();
    schema = Backends.uniqueSchema(NotificationsIT.class);
    prefix = Backends.uniquePrefix(NotificationsIT.class);
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
    s.putAll(notifySettings());
    s.put("node-id", "notify-it-" + n);
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
    return TestNode.start(s, r -> {});
  }
}
