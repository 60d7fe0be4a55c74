package org.presence.store.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The shared core of the test helpers that run {@code redis-server} processes of their own ({@link
 * PrivateRedis} here, the gateway's {@code RedisProcess}, {@code RedisClusterProcess} and {@code
 * SentinelRedis}): picks loopback ports, starts servers with given arguments and a log file, runs
 * {@code redis-cli} (with the password and TLS the servers want), waits for an answer and kills
 * what it started.
 *
 * <p>Binaries: {@code PRESENCE_TEST_REDIS_SERVER} (set by {@code bin/backends}) or {@code
 * redis-server} on the path, and {@code redis-cli} beside it (or on the path).
 */
public final class RedisServers implements AutoCloseable {
  /** How long a server may take to start, and any {@link #await} to come true. */
  public static final long START_MS = 20_000;

  /**
   * The append-only file, synced on every write: a SIGKILL loses nothing the server acknowledged.
   */
  public static final List<String> APPEND_FSYNC_ALWAYS =
      List.of("--appendonly", "yes", "--appendfsync", "always");

  private static final long CLI_SECONDS = 10;
  private static final long CLUSTER_CREATE_SECONDS = 60;

  private final String password;
  private final Path cert;
  private final Set<Integer> picked = new HashSet<>();
  private final Map<Integer, Process> processes = new LinkedHashMap<>();
  private final Map<Integer, Path> logs = new LinkedHashMap<>();

  /** For servers without password or TLS. */
  public RedisServers() {
    this(null, null);
  }

  /**
   * For servers wanting {@code password} ({@code null}: none) and TLS with the certificate {@code
   * cert} as CA ({@code null}: plain), which {@link #cli} then sends and uses.
   */
  public RedisServers(String password, Path cert) {
    this.password = password;
    this.cert = cert;
  }

  /**
   * A free loopback port whose cluster bus port (port + 10000) is free too, neither being a port or
   * a bus of one picked before. Below the kernel's ephemeral range (from 32768 on most kernels),
   * bus included: an outgoing connection can take a port in that range between this check and the
   * server's bind.
   */
  public int pickPort() throws IOException {
    for (int attempt = 0; attempt < 200; attempt++) {
      int port = 10000 + ThreadLocalRandom.current().nextInt(12000);
      if (!picked.contains(port)
          && !picked.contains(port + 10000)
          && !picked.contains(port - 10000)
          && free(port)
          && free(port + 10000)) {
        picked.add(port);
        return port;
      }
    }
    throw new IOException("no free port pair for a Redis server");
  }

  private static boolean free(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * The options of a server on {@code port} of 127.0.0.1 with its files in {@code dir}, without
   * snapshots, in protected mode, followed by {@code more}.
   */
  public static List<String> args(int port, Path dir, List<String> more) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--port",
                Integer.toString(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                dir.toString(),
                "--save",
                "",
                "--protected-mode",
                "yes"));
    args.addAll(more);
    return args;
  }

  /**
   * Starts {@code redis-server} with {@code args} (the port among them), its output to {@code log},
   * as the server on {@code port}; an earlier process there (killed) is forgotten.
   */
  public Process start(int port, List<String> args, Path log) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(serverBinary());
    cmd.addAll(args);
    Files.createDirectories(log.getParent());
    Process p =
        new ProcessBuilder(cmd).redirectOutput(log.toFile()).redirectErrorStream(true).start();
    processes.put(port, p);
    logs.put(port, log);
    return p;
  }

  /** Whether the process started on {@code port} is alive. */
  public boolean alive(int port) {
    Process p = processes.get(port);
    return p != null && p.isAlive();
  }

  /** SIGKILL of the server started on {@code port}, waiting until it is gone. */
  public void kill(int port) throws InterruptedException {
    Process p = processes.get(port);
    if (p != null) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** Sends {@code signal} ({@code STOP}, {@code CONT}) to the server started on {@code port}. */
  public void signal(int port, String signal) throws IOException, InterruptedException {
    Process p = processes.get(port);
    if (p == null) {
      throw new IllegalStateException("no server started on " + port);
    }
    run(List.of("kill", "-" + signal, Long.toString(p.pid())));
  }

  /**
   * Waits until the server on {@code port} answers {@code command} with a text containing {@code
   * expected}; fails at once, with its log, when the process started there has exited.
   */
  public void await(int port, String expected, String... command) throws InterruptedException {
    List<List<String>> last = new ArrayList<>(List.of(List.of()));
    Process p = processes.get(port);
    await(
        "redis on " + port + " answering " + expected + " to " + String.join(" ", command),
        () -> {
          if (p != null && !p.isAlive()) {
            throw new IllegalStateException(
                "redis-server on " + port + " exited: " + logTail(logs.get(port)));
          }
          last.set(0, cli(port, command));
          return String.join("\n", last.get(0)).contains(expected);
        },
        () -> "last answer " + last.get(0) + logTail(logs.get(port)));
  }

  /**
   * Polls {@code done} until it is true, for {@link #START_MS} at the most; the failure names
   * {@code what} and adds {@code detail}'s text (such as the servers' logs).
   */
  public static void await(String what, BooleanSupplier done, Supplier<String> detail)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_MS);
    while (System.nanoTime() < deadline) {
      if (done.getAsBoolean()) {
        return;
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException("timed out waiting for " + what + ": " + detail.get());
  }

  /**
   * The options of a Redis Cluster node (its state in {@code nodes.conf} of its directory) with
   * {@code cluster-node-timeout} {@code nodeTimeoutMs}; a list to add to.
   */
  public static List<String> clusterArgs(int nodeTimeoutMs) {
    return new ArrayList<>(
        List.of(
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            Integer.toString(nodeTimeoutMs)));
  }

  /**
   * Joins the servers on {@code ports} with {@code redis-cli --cluster create} ({@code replicas}
   * replicas a primary) and waits until each reports {@code cluster_state:ok}.
   */
  public void createCluster(List<Integer> ports, int replicas) throws InterruptedException {
    List<String> args = new ArrayList<>(List.of("--cluster", "create"));
    for (int port : ports) {
      args.add("127.0.0.1:" + port);
    }
    args.addAll(List.of("--cluster-replicas", Integer.toString(replicas), "--cluster-yes"));
    List<String> out = cli(ports.get(0), CLUSTER_CREATE_SECONDS, args);
    for (int port : ports) {
      try {
        await(port, "cluster_state:ok", "cluster", "info");
      } catch (IllegalStateException e) {
        throw new IllegalStateException(e.getMessage() + "; redis-cli said: " + out, e);
      }
    }
  }

  /**
   * Runs a command on the server at {@code port}, with the password and TLS it needs; its answer,
   * one line per element (none when it does not answer within 10 s).
   */
  public List<String> cli(int port, String... command) {
    return cli(port, CLI_SECONDS, List.of(command));
  }

  private List<String> cli(int port, long timeoutSeconds, List<String> command) {
    List<String> cmd =
        new ArrayList<>(List.of(cliBinary(), "-h", "127.0.0.1", "-p", Integer.toString(port)));
    if (cert != null) {
      cmd.addAll(List.of("--tls", "--cacert", cert.toString()));
    }
    if (password != null) {
      cmd.addAll(List.of("-a", password, "--no-auth-warning"));
    }
    cmd.addAll(command);
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return List.of();
      }
      String text = new String(out, StandardCharsets.UTF_8).replace("\r", "");
      return text.isEmpty() ? List.of() : List.of(text.split("\n"));
    } catch (IOException e) {
      return List.of(e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return List.of();
    }
  }

  /** Runs {@code cmd}, failing with its output unless it exits 0 within 30 s. */
  public static void run(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IllegalStateException(
          String.join(" ", cmd) + " failed: " + new String(out, StandardCharsets.UTF_8));
    }
  }

  /** The last 15 lines of {@code log}, after a newline, for a failure message. */
  public static String logTail(Path log) {
    if (log == null) {
      return "";
    }
    try {
      List<String> lines = Files.readAllLines(log);
      return "\n--- "
          + log.getFileName()
          + '\n'
          + String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    } catch (IOException e) {
      return "\n--- " + log.getFileName() + ": no log";
    }
  }

  /** {@code PRESENCE_TEST_REDIS_SERVER}, or {@code redis-server} on the path. */
  public static String serverBinary() {
    String b = System.getenv("PRESENCE_TEST_REDIS_SERVER");
    return b == null || b.isBlank() ? "redis-server" : b;
  }

  /** {@code redis-cli} beside {@link #serverBinary}, or on the path. */
  public static String cliBinary() {
    Path cli = Path.of(serverBinary()).resolveSibling("redis-cli");
    return Files.isExecutable(cli) ? cli.toString() : "redis-cli";
  }

  /** Kills every server started here. */
  @Override
  public void close() {
    for (Process p : processes.values()) {
      p.destroyForcibly();
      try {
        p.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
