package org.presence.gateway.testing;

import io.lettuce.core.cluster.SlotHash;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.presence.store.testing.RedisServers;

/**
 * A Redis Cluster of one test's own: three primaries and three replicas on free loopback ports,
 * joined with {@code redis-cli --cluster create}, with a short {@code cluster-node-timeout} (1 s)
 * so that a replica takes over within a few seconds of its primary being killed. A test may kill a
 * primary without disturbing the shared cluster of the other tests.
 */
public final class RedisClusterProcess implements AutoCloseable {
  private final List<Integer> ports = new ArrayList<>();
  private final RedisServers servers = new RedisServers();

  private RedisClusterProcess() {}

  /** Starts the six servers, keeping their files under {@code dir}, and joins them. */
  public static RedisClusterProcess start(Path dir) throws IOException, InterruptedException {
    RedisClusterProcess c = new RedisClusterProcess();
    List<String> args = RedisServers.clusterArgs(1000);
    args.addAll(RedisServers.APPEND_FSYNC_ALWAYS);
    try {
      for (int i = 0; i < 6; i++) {
        int port = c.servers.pickPort();
        Path d = dir.resolve("n" + port);
        Files.createDirectories(d);
        c.ports.add(port);
        c.servers.start(port, RedisServers.args(port, d, args), d.resolve("redis.log"));
      }
      for (int port : c.ports) {
        c.servers.await(port, "PONG", "ping");
      }
      c.servers.createCluster(c.ports, 1);
      return c;
    } catch (IOException | InterruptedException | RuntimeException e) {
      c.close();
      throw e;
    }
  }

  /** The seed URL: the three first servers. */
  public String url() {
    return "redis-cluster://127.0.0.1:"
        + ports.get(0)
        + ",127.0.0.1:"
        + ports.get(1)
        + ",127.0.0.1:"
        + ports.get(2);
  }

  /** The port of the primary serving {@code key}'s slot now, as a live node sees it. */
  public int primaryOf(String key) {
    int slot = SlotHash.getSlot(key);
    for (int i = 0; i < ports.size(); i++) {
      if (!servers.alive(ports.get(i))) {
        continue;
      }
      for (String line : cli(ports.get(i), "cluster", "nodes")) {
        String[] f = line.split(" ");
        if (f.length < 9 || !f[2].contains("master") || f[2].contains("fail")) {
          continue;
        }
        for (int j = 8; j < f.length; j++) {
          String[] range = f[j].split("-");
          if (range[0].startsWith("[")) {
            continue;
          }
          int from = Integer.parseInt(range[0]);
          int to = range.length > 1 ? Integer.parseInt(range[1]) : from;
          if (slot >= from && slot <= to) {
            String addr = f[1].substring(0, f[1].indexOf('@'));
            return Integer.parseInt(addr.substring(addr.lastIndexOf(':') + 1));
          }
        }
      }
      return -1;
    }
    return -1;
  }

  /** SIGKILL of the server on {@code port}. */
  public void kill(int port) throws InterruptedException {
    servers.kill(port);
  }

  /**
   * Waits until a replica has taken over {@code key}'s slot from the killed {@code oldPrimary} and
   * the cluster is whole again; the new primary's port.
   */
  public int awaitFailover(String key, int oldPrimary, long timeoutMs) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (System.nanoTime() < deadline) {
      int now = primaryOf(key);
      if (now > 0 && now != oldPrimary && clusterOk()) {
        return now;
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("no replica took over from " + oldPrimary);
  }

  private boolean clusterOk() {
    for (int i = 0; i < ports.size(); i++) {
      if (servers.alive(ports.get(i))
          && !cli(ports.get(i), "cluster", "info").contains("cluster_state:ok")) {
        return false;
      }
    }
    return true;
  }

  /** Runs a command on the server at {@code port}; its answer, one line per element. */
  public List<String> cli(int port, String... command) {
    return servers.cli(port, command);
  }

  @Override
  public void close() {
    servers.close();
  }
}
