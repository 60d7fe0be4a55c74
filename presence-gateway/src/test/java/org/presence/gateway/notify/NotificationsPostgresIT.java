package org.presence.gateway.notify;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.TestNode;
import org.presence.store.queue.JdbiNotificationQueues;
import org.presence.store.testing.Backends;

/**
 * Live notifications on a single node over PostgreSQL (no Redis: the in-process bus, the queues in
 * the database, {@code JdbiNotificationQueues}), so that what the contract shows end to end — the
 * per-application limit's errno 174 among it — holds on that store too.
 */
class NotificationsPostgresIT extends NotificationsContract {
  @TempDir static Path root;
  private static String schema;
  private static TestNode node;
  private static final AtomicInteger dirs = new AtomicInteger();

  @BeforeAll
  static void start() {
    Backends.databaseUrl();
    schema = Backends.uniqueSchema(NotificationsPostgresIT.class);
    node = TestNode.start(settings(), r -> {});
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
    if (schema != null) {
      Backends.dropSchema(schema);
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
    s.put("store.database.url", Backends.databaseUrl());
    s.put("store.database.schema", schema);
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

  @Test
  void queues_areInPostgresql() {
    assertThat(node.server().store().persistence().kind()).isEqualTo("postgresql");
    assertThat(node.server().store().notifications()).isInstanceOf(JdbiNotificationQueues.class);
  }
}
