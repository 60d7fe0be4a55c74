package org.presence.gateway.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.presence.gateway.identity.DevIdentity;
import org.presence.store.testing.Backends;

/**
 * The shared ground of an in-process cluster test: a fresh PostgreSQL schema and Redis key prefix
 * for the test class, and one development key that every node trusts (copied into each node's data
 * directory). {@link #settings} gives one more node's settings, {@link #start} starts one; {@link
 * #close} closes the nodes it started, the last first, and drops the schema.
 */
public final class TestCluster implements AutoCloseable {
  private final Path root;
  private final String nodeIdPrefix;
  private final Map<String, String> common;
  private final String schema;
  private final String prefix;
  private final Path keyDir;
  private final AtomicInteger nodes = new AtomicInteger();
  private final Deque<TestNode> started = new ArrayDeque<>();

  private TestCluster(Class<?> test, Path root, String nodeIdPrefix, Map<String, String> common) {
    this.root = root;
    this.nodeIdPrefix = nodeIdPrefix;
    this.common = Map.copyOf(common);
    this.schema = Backends.uniqueSchema(test);
    this.prefix = Backends.uniquePrefix(test);
    this.keyDir = root.resolve("key");
    DevIdentity.loadOrCreate(keyDir);
  }

  /**
   * Ground for {@code test} under {@code root}; every node gets {@code common} on top of the
   * cluster settings and is named {@code nodeIdPrefix-<n>}. Needs (or, per {@link Backends}, skips
   * without) PostgreSQL and Redis.
   */
  public static TestCluster create(
      Class<?> test, Path root, String nodeIdPrefix, Map<String, String> common) {
    Backends.databaseUrl();
    Backends.redisUrl();
    return new TestCluster(test, root, nodeIdPrefix, common);
  }

  public String schema() {
    return schema;
  }

  /** The Redis key prefix every node of this cluster uses. */
  public String prefix() {
    return prefix;
  }

  /** Settings of one more node, with the shared development key in its data directory. */
  public Map<String, String> settings() {
    int n = nodes.incrementAndGet();
    Path dir = root.resolve("node-" + n);
    try {
      Files.createDirectories(dir);
      Files.copy(keyDir.resolve(DevIdentity.KEY_FILE), dir.resolve(DevIdentity.KEY_FILE));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Map<String, String> s = new HashMap<>(TestNode.baseSettings(dir));
    s.putAll(common);
    s.put("node-id", nodeIdPrefix + "-" + n);
    s.put("store.database.url", Backends.databaseUrl());
    s.put("store.database.schema", schema);
    s.put("store.redis.url", Backends.redisUrl());
    s.put("store.redis.key-prefix", prefix);
    return s;
  }

  /**
   * Starts one more node, with {@code overrides} over its settings; {@link #close} closes it (a
   * test may close it before, as when it stops a node on purpose: closing twice is harmless).
   */
  public TestNode start(Map<String, String> overrides) {
    Map<String, String> s = settings();
    s.putAll(overrides);
    TestNode node = TestNode.start(s, r -> {});
    synchronized (started) {
      started.push(node);
    }
    return node;
  }

  /** Closes the nodes {@link #start} started, the last first, then drops the schema. */
  @Override
  public void close() {
    try {
      while (true) {
        TestNode node;
        synchronized (started) {
          node = started.poll();
        }
        if (node == null) {
          break;
        }
        node.close();
      }
    } finally {
      Backends.dropSchema(schema);
    }
  }
}
