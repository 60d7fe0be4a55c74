package org.presence.gateway.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.presence.store.testing.RedisServers;

/**
 * A Redis primary, one replica and three sentinels of one test's own, on free loopback ports (from
 * {@link RedisServers}, which also runs {@code redis-cli} for it), with their files in a temporary
 * directory: a test may kill the primary (SIGKILL), stall the replica (SIGSTOP) and watch the
 * sentinels promote it. The servers run as the unprivileged user {@code bin/backends} uses ({@code
 * PRESENCE_TEST_BACKENDS_USER}) when the test runs as another user (root), daemonized with a pid
 * file, so that they are signalled by pid rather than through {@code runuser}.
 *
 * <p>Sentinels notice a dead primary within a second ({@code down-after-milliseconds 1000}) and
 * fail over with a 2 s {@code failover-timeout}. Binaries: {@code PRESENCE_TEST_REDIS_SERVER} (set
 * by {@code bin/backends}, run with {@code --sentinel} for the sentinels) or {@code redis-server}
 * on the path, and {@code redis-cli} beside it.
 */
public final class SentinelRedis implements AutoCloseable {
  /** The name the sentinels know the primary by. */
  public static final String MASTER = "presence";

  private final RedisServers servers = new RedisServers();
  private final Path dir;
  private final String user;
  private final int[] sentinels;
  private final Map<Integer, String> names = new HashMap<>();
  private int primary;
  private int replica;

  private SentinelRedis(Path dir, String user, int sentinelCount) {
    this.dir = dir;
    this.user = user;
    this.sentinels = new int[sentinelCount];
  }

  /**
   * Starts the primary, the replica (in sync before this returns) and the three sentinels (each
   * knowing the replica and the two others before this returns).
   */
  public static SentinelRedis start() throws IOException, InterruptedException {
    return start(3);
  }

  /** Only the primary and its replica (in sync before this returns), without sentinels. */
  public static SentinelRedis replicated() throws IOException, InterruptedException {
    return start(0);
  }

  private static SentinelRedis start(int sentinelCount) throws IOException, InterruptedException {
    String u = System.getenv("PRESENCE_TEST_BACKENDS_USER");
    boolean other = u != null && !u.isBlank() && !u.equals(System.getProperty("user.name"));
    SentinelRedis s =
        new SentinelRedis(
            Files.createTempDirectory("presence-sentinel-"), other ? u : null, sentinelCount);
    try {
      s.startAll();
    } catch (IOException | InterruptedException | RuntimeException e) {
      s.close();
      throw e;
    }
    return s;
  }

  private void startAll() throws IOException, InterruptedException {
    if (user != null) {
      RedisServers.run(List.of("chown", user, dir.toString()));
    }
    primary = servers.pickPort();
    replica = servers.pickPort();
    server("primary", primary, List.of());
    server("replica", replica, List.of("--replicaof", "127.0.0.1", Integer.toString(primary)));
    await(
        "the replica in sync",
        () -> info(replica, "replication").contains("master_link_status:up"));
    // The replica's side of the link can be up a moment before the primary counts it: a WAIT in
    // that moment would count no replica.
    await(
        "the primary counting the replica online",
        () -> info(primary, "replication").contains("state=online"));
    for (int i = 0; i < sentinels.length; i++) {
      sentinels[i] = servers.pickPort();
      String name = "sentinel-" + i;
      Path conf = dir.resolve(name + ".conf");
      Files.writeString(
          conf,
          String.join(
              "\n",
              "port " + sentinels[i],
              "bind 127.0.0.1",
              "daemonize yes",
              "pidfile " + dir.resolve(name + ".pid"),
              "logfile " + dir.resolve(name + ".log"),
              "dir " + dir,
              "sentinel monitor " + MASTER + " 127.0.0.1 " + primary + " 2",
              "sentinel down-after-milliseconds " + MASTER + " 1000",
              "sentinel failover-timeout " + MASTER + " 2000",
              "sentinel parallel-syncs " + MASTER + " 1",
              ""));
      if (user != null) {
        RedisServers.run(List.of("chown", user, conf.toString()));
      }
      names.put(sentinels[i], name);
      runAsUser(List.of(RedisServers.serverBinary(), conf.toString(), "--sentinel"));
      awaitPidFile(name);
    }
    for (int port : sentinels) {
      await(
          "sentinel on " + port + " knowing the replica and the other sentinels",
          () -> {
            Map<String, String> m = sentinelMaster(port);
            return "1".equals(m.get("num-slaves")) && "2".equals(m.get("num-other-sentinels"));
          });
    }
  }

  /** {@code redis-sentinel://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3/#presence}. */
  public String url() {
    List<String> hosts = new ArrayList<>();
    for (int port : sentinels) {
      hosts.add("127.0.0.1:" + port);
    }
    return "redis-sentinel://" + String.join(",", hosts) + "/#" + MASTER;
  }

  public int primaryPort() {
    return primary;
  }

  public int replicaPort() {
    return replica;
  }

  /** The primary's port as the first sentinel reports it now. */
  public int reportedPrimaryPort() {
    List<String> addr = cli(sentinels[0], "SENTINEL", "get-master-addr-by-name", MASTER);
    return addr.size() == 2 ? Integer.parseInt(addr.get(1)) : -1;
  }

  /** Waits until every sentinel names {@code port} as the primary's. */
  public void awaitPrimary(int port, long timeoutMs) throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (System.currentTimeMillis() < deadline) {
      boolean all = true;
      for (int s : sentinels) {
        List<String> addr = cli(s, "SENTINEL", "get-master-addr-by-name", MASTER);
        all &= addr.size() == 2 && addr.get(1).equals(Integer.toString(port));
      }
      if (all) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError(
        "the sentinels did not name port " + port + " as the primary: " + logs());
  }

  /**
   * The answer of {@code INFO section} on the server at {@code port}, or "" when it does not
   * answer.
   */
  public String info(int port, String section) {
    return String.join("\n", cli(port, "INFO", section));
  }

  /** Runs a command on the server at {@code port}; its answer, one line per element. */
  public List<String> cli(int port, String... command) {
    return servers.cli(port, command);
  }

  /** SIGKILL: the primary dies at once, with whatever its replica did not receive. */
  public void killPrimary() throws IOException, InterruptedException {
    signal("primary", "KILL");
  }

  /** SIGSTOP: the replica stops reading, answering and acknowledging replication. */
  public void stopReplica() throws IOException, InterruptedException {
    signal("replica", "STOP");
  }

  /** SIGCONT: the replica resumes. */
  public void continueReplica() throws IOException, InterruptedException {
    signal("replica", "CONT");
  }

  /**
   * Starts the former primary again, empty, as a replica of the server at {@code newPrimary} (as an
   * operator brings a failed primary back), and waits until it is in sync.
   */
  public void restartPrimaryAsReplicaOf(int newPrimary) throws IOException, InterruptedException {
    Files.deleteIfExists(dir.resolve("primary.pid"));
    server("primary", primary, List.of("--replicaof", "127.0.0.1", Integer.toString(newPrimary)));
    await(
        "the former primary in sync",
        () -> info(primary, "replication").contains("master_link_status:up"));
  }

  private void server(String name, int port, List<String> extra)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(RedisServers.serverBinary()));
    cmd.addAll(
        RedisServers.args(
            port,
            dir,
            List.of(
                "--dbfilename",
                name + ".rdb",
                "--appendonly",
                "no",
                "--repl-diskless-sync-delay",
                "0",
                "--daemonize",
                "yes",
                "--pidfile",
                dir.resolve(name + ".pid").toString(),
                "--logfile",
                dir.resolve(name + ".log").toString())));
    cmd.addAll(extra);
    names.put(port, name);
    runAsUser(cmd);
    awaitPidFile(name);
    await(name + " answering", () -> cli(port, "PING").contains("PONG"));
  }

  private Map<String, String> sentinelMaster(int port) {
    List<String> lines = cli(port, "SENTINEL", "master", MASTER);
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i + 1 < lines.size(); i += 2) {
      m.put(lines.get(i), lines.get(i + 1));
    }
    return m;
  }

  private void awaitPidFile(String name) throws InterruptedException {
    await(name + "'s pid file", () -> pid(name) > 0);
  }

  private long pid(String name) {
    try {
      return Long.parseLong(Files.readString(dir.resolve(name + ".pid")).trim());
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }

  private void signal(String name, String signal) throws IOException, InterruptedException {
    long pid = pid(name);
    if (pid <= 0) {
      throw new IllegalStateException(name + " has no pid file");
    }
    RedisServers.run(List.of("kill", "-" + signal, Long.toString(pid)));
    if (signal.equals("KILL")) {
      long deadline = System.currentTimeMillis() + 10_000;
      while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)
          && System.currentTimeMillis() < deadline) {
        Thread.sleep(20);
      }
    }
  }

  private void await(String what, BooleanSupplier done) throws InterruptedException {
    RedisServers.await(what, done, this::logs);
  }

  /** The tail of every server's log, for a failure message. */
  private String logs() {
    StringBuilder b = new StringBuilder();
    for (String name : names.values()) {
      b.append(RedisServers.logTail(dir.resolve(name + ".log")));
    }
    return b.toString();
  }

  private void runAsUser(List<String> cmd) throws IOException, InterruptedException {
    List<String> full = new ArrayList<>();
    if (user != null) {
      full.addAll(List.of("runuser", "-u", user, "--"));
    }
    full.addAll(cmd);
    RedisServers.run(full);
  }

  /** Kills every server (a stopped one too) and deletes the directory. */
  @Override
  public void close() {
    for (String name : names.values()) {
      long pid = pid(name);
      if (pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
        try {
          RedisServers.run(List.of("kill", "-KILL", Long.toString(pid)));
        } catch (Exception ignored) {
          // Gone meanwhile.
        }
      }
    }
    try {
      RedisServers.run(List.of("rm", "-rf", dir.toString()));
    } catch (Exception ignored) {
      // A temporary directory left behind.
    }
  }
}
