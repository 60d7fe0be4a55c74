package org.presence.gateway.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Redis server of one test's own, on a free loopback port, with its data in a directory of the
 * test: a test may kill and restart it without disturbing the shared Redis of the other tests.
 * Persistence as a cluster must configure it for acknowledged notifications: the append-only file,
 * here synced on every write so that a kill -9 loses nothing acknowledged.
 *
 * <p>The binary comes from {@code PRESENCE_TEST_REDIS_SERVER} (set by {@code bin/backends}) or
 * {@code redis-server} on the path.
 */
public final class RedisProcess implements AutoCloseable {
  private final Path dir;
  private final int port;
  private Process process;

  private RedisProcess(Path dir, int port) {
    this.dir = dir;
    this.port = port;
  }

  /** Starts a server keeping its files in {@code dir}. */
  public static RedisProcess start(Path dir) throws IOException, InterruptedException {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    RedisProcess r = new RedisProcess(dir, port);
    r.startAgain();
    return r;
  }

  private static String binary() {
    String b = System.getenv("PRESENCE_TEST_REDIS_SERVER");
    return b == null || b.isBlank() ? "redis-server" : b;
  }

  /** Starts the server (again, after {@link #kill}) on the same port and files. */
  public void startAgain() throws IOException, InterruptedException {
    Files.createDirectories(dir);
    process =
        new ProcessBuilder(
                List.of(
                    binary(),
                    "--port",
                    Integer.toString(port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    dir.toString(),
                    "--save",
                    "",
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                    "--protected-mode",
                    "yes"))
            .redirectOutput(dir.resolve("redis.log").toFile())
            .redirectErrorStream(true)
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      if (ping()) {
        return;
      }
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "redis-server exited: " + Files.readString(dir.resolve("redis.log")));
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException("redis-server did not answer on port " + port);
  }

  private boolean ping() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      s.setSoTimeout(500);
      s.getOutputStream().write("PING\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      byte[] b = new byte[16];
      int n = s.getInputStream().read(b);
      return n > 0
          && new String(b, 0, n, java.nio.charset.StandardCharsets.US_ASCII).startsWith("+PONG");
    } catch (IOException e) {
      return false;
    }
  }

  public String url() {
    return "redis://127.0.0.1:" + port;
  }

  /** SIGKILL: the server dies at once; what it acknowledged is in its append-only file. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    if (process != null) {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
