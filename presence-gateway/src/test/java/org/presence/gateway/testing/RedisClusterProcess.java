package org.presence.gateway.testing;

import io.lettuce.core.cluster.SlotHash;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A Redis Cluster of one test's own: three primaries and three replicas on free loopback ports,
 * joined with {@code redis-cli --cluster create}, with a short {@code cluster-node-timeout} (1 s)
 * so that a replica takes over within a few seconds of its primary being killed. A test may kill a
 * primary without disturbing the shared cluster of the other tests.
 */
public final class RedisClusterProcess implements AutoCloseable {
  private final List<Integer> ports = new ArrayList<>();
  private final List<Process> processes = new ArrayList<>();

  private RedisClusterProcess() {}

  /** Starts the six servers, keeping their files under {@code dir}, and joins them. */
  public static RedisClusterProcess start(Path dir) throws IOException, InterruptedException {
    RedisClusterProcess c = new RedisClusterProcess();
    try {
      for (int i = 0; i < 6; i++) {
        int port = c.freePortWithBus();
        Path d = dir.resolve("n" + port);
        Files.createDirectories(d);
        c.ports.add(port);
        c.processes.add(
            new ProcessBuilder(
                    List.of(
                        serverBinary(),
                        "--port",
                        Integer.toString(port),
                        "--bind",
                        "127.0.0.1",
                        "--dir",
                        d.toString(),
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "1000",
                        "--save",
                        "",
                        "--appendonly",
                        "yes",
                        "--appendfsync",
                        "always",
                        "--protected-mode",
                        "yes"))
                .redirectOutput(d.resolve("redis.log").toFile())
                .redirectErrorStream(true)
                .start());
      }
      for (int port : c.ports) {
        c.await(port, "PONG", "ping");
      }
      List<String> create = new ArrayList<>(List.of(cliBinary(), "--cluster", "create"));
      for (int port : c.ports) {
        create.add("127.0.0.1:" + port);
      }
      create.addAll(List.of("--cluster-replicas", "1", "--cluster-yes"));
      Process p = new ProcessBuilder(create).redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException(
            "redis-cli --cluster create failed: " + new String(out, StandardCharsets.UTF_8));
      }
      for (int port : c.ports) {
        c.await(port, "cluster_state:ok", "cluster", "info");
      }
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
      if (!processes.get(i).isAlive()) {
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
    Process p = processes.get(ports.indexOf(port));
    p.destroyForcibly();
    p.waitFor(10, TimeUnit.SECONDS);
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
      if (processes.get(i).isAlive()
          && !cli(ports.get(i), "cluster", "info").contains("cluster_state:ok")) {
        return false;
      }
    }
    return true;
  }

  private void await(int port, String expected, String... command) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      if (cli(port, command).contains(expected)) {
        return;
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException(
        "redis on " + port + " did not answer " + expected + " to " + String.join(" ", command));
  }

  /** Runs a command on the server at {@code port}; its answer, one line per element. */
  public List<String> cli(int port, String... command) {
    List<String> cmd =
        new ArrayList<>(List.of(cliBinary(), "-h", "127.0.0.1", "-p", Integer.toString(port)));
    cmd.addAll(List.of(command));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return List.of();
      }
      String text = new String(out, StandardCharsets.UTF_8).replace("\r", "");
      return text.isEmpty() ? List.of() : List.of(text.split("\n"));
    } catch (IOException e) {
      return List.of();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return List.of();
    }
  }

  /** A free port whose cluster bus port (port + 10000) is free too. */
  private int freePortWithBus() throws IOException {
    // Below the kernel's ephemeral range (from 32768 on this machine's and most kernels), bus
    // included: an outgoing connection can take a port in that range between this check and
    // the server's bind. Neither port may be a port or a bus of a node already picked.
    for (int attempt = 0; attempt < 200; attempt++) {
      int port = 10000 + ThreadLocalRandom.current().nextInt(12000);
      if (!ports.contains(port)
          && !ports.contains(port + 10000)
          && !ports.contains(port - 10000)
          && free(port)
          && free(port + 10000)) {
        return port;
      }
    }
    throw new IOException("no free port pair for a Redis Cluster node");
  }

  private static boolean free(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static String serverBinary() {
    String b = System.getenv("PRESENCE_TEST_REDIS_SERVER");
    return b == null || b.isBlank() ? "redis-server" : b;
  }

  private static String cliBinary() {
    Path cli = Path.of(serverBinary()).resolveSibling("redis-cli");
    return Files.isExecutable(cli) ? cli.toString() : "redis-cli";
  }

  @Override
  public void close() {
    for (Process p : processes) {
      p.destroyForcibly();
      try {
        p.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
