package org.presence.gateway.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.presence.store.testing.RedisServers;

/**
 * A Redis server of one test's own, on a free loopback port (from {@link RedisServers}), with its
 * data in a directory of the test: a test may kill and restart it without disturbing the shared
 * Redis of the other tests. Persistence as a cluster must configure it for acknowledged
 * notifications: the append-only file, here synced on every write so that a kill -9 loses nothing
 * acknowledged.
 *
 * <p>The binary comes from {@code PRESENCE_TEST_REDIS_SERVER} (set by {@code bin/backends}) or
 * {@code redis-server} on the path.
 */
public final class RedisProcess implements AutoCloseable {
  private final RedisServers servers = new RedisServers();
  private final Path dir;
  private final int port;

  private RedisProcess(Path dir) throws IOException {
    this.dir = dir;
    this.port = servers.pickPort();
  }

  /** Starts a server keeping its files in {@code dir}. */
  public static RedisProcess start(Path dir) throws IOException, InterruptedException {
    RedisProcess r = new RedisProcess(dir);
    try {
      r.startAgain();
    } catch (IOException | InterruptedException | RuntimeException e) {
      r.close();
      throw e;
    }
    return r;
  }

  /** Starts the server (again, after {@link #kill}) on the same port and files. */
  public void startAgain() throws IOException, InterruptedException {
    Files.createDirectories(dir);
    servers.start(
        port,
        RedisServers.args(port, dir, RedisServers.APPEND_FSYNC_ALWAYS),
        dir.resolve("redis.log"));
    servers.await(port, "PONG", "ping");
  }

  public String url() {
    return "redis://127.0.0.1:" + port;
  }

  /** SIGKILL: the server dies at once; what it acknowledged is in its append-only file. */
  public void kill() throws InterruptedException {
    servers.kill(port);
  }

  /** Runs a command on the server with {@code redis-cli}; its output lines. */
  public java.util.List<String> cli(String... command) {
    return servers.cli(port, command);
  }

  @Override
  public void close() {
    servers.close();
  }
}
