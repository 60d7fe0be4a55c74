package org.presence.store.testing;

import io.lettuce.core.RedisCommandExecutionException;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;

/**
 * Fills a Redis that has a {@code maxmemory} (noeviction) until it refuses writes with its {@code
 * OOM} answer, then lowers its {@code maxmemory} to half of what it uses, so that it stays full
 * whatever memory Redis frees on its own meanwhile (client buffers it shrinks, the filler's own
 * connection): a write of the test's finds it full every time, not only right after the fill.
 */
public final class RedisFiller implements AutoCloseable {
  private final RedisBackend backend;

  private RedisFiller(RedisBackend backend) {
    this.backend = backend;
  }

  /** Fills the Redis at {@code url} under keys {@code fill:*}; fails if it never refuses. */
  public static RedisFiller untilFull(String url) {
    RedisFiller f =
        new RedisFiller(
            RedisBackend.connect(StoreConfig.RedisConfig.redis(url).withKeyPrefix("fill:")));
    byte[] block = new byte[64 * 1024];
    boolean refused = false;
    for (int i = 0; i < 100_000 && !refused; i++) {
      try {
        f.backend.commands().sync().set("fill:" + i, block);
      } catch (RedisCommandExecutionException e) {
        if (!e.getMessage().startsWith("OOM")) {
          throw e;
        }
        refused = true;
      }
    }
    if (!refused) {
      f.close();
      throw new AssertionError("Redis never refused a write");
    }
    String info = f.backend.commands().sync().info("memory");
    long used =
        info.lines()
            .filter(l -> l.startsWith("used_memory:"))
            .mapToLong(l -> Long.parseLong(l.substring("used_memory:".length()).trim()))
            .findFirst()
            .orElseThrow();
    f.backend.commands().sync().configSet("maxmemory", Long.toString(used / 2));
    return f;
  }

  @Override
  public void close() {
    backend.close();
  }
}
