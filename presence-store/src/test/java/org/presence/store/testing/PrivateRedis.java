package org.presence.store.testing;

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
 * A Redis, or a Redis Cluster of three primaries, of one test's own on loopback, started with
 * Debian's {@code redis-server} (as {@code bin/backends} finds it) and the options a test needs: a
 * password ({@code requirepass}, and {@code masterauth} for the cluster), TLS ({@code --tls-port}
 * only, with a certificate {@link #selfSignedCertificate} made). The store-side counterpart of the
 * gateway's {@code RedisClusterProcess}, for the settings the shared test backends do not have.
 */
public final class PrivateRedis implements AutoCloseable {
  private final List<Integer> ports = new ArrayList<>();
  private final List<Process> processes = new ArrayList<>();
  private final String password;
  private final Path cert;

  private PrivateRedis(String password, Path cert) {
    this.password = password;
    this.cert = cert;
  }

  /**
   * Makes a self-signed certificate for 127.0.0.1 and localhost with {@code openssl}: {@code
   * cert.pem} and {@code key.pem} in {@code dir}; the certificate's path.
   */
  public static Path selfSignedCertificate(Path dir) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    Path cert = dir.resolve("cert.pem");
    run(
        List.of(
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            dir.resolve("key.pem").toString(),
            "-out",
            cert.toString(),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost"));
    return cert;
  }

  /**
   * One Redis: with {@code password} ({@code null}: none) and, with {@code cert} (from {@link
   * #selfSignedCertificate}; {@code null}: plain), TLS only.
   */
  public static PrivateRedis single(Path dir, String password, Path cert)
      throws IOException, InterruptedException {
    PrivateRedis r = new PrivateRedis(password, cert);
    try {
      r.startNode(dir, List.of());
      r.await(r.ports.get(0), "PONG", "ping");
      return r;
    } catch (IOException | InterruptedException | RuntimeException e) {
      r.close();
      throw e;
    }
  }

  /** A Redis Cluster of three primaries (no replicas), with the same options as {@link #single}. */
  public static PrivateRedis cluster(Path dir, String password, Path cert)
      throws IOException, InterruptedException {
    PrivateRedis r = new PrivateRedis(password, cert);
    try {
      List<String> clusterArgs =
          new ArrayList<>(
              List.of(
                  "--cluster-enabled",
                  "yes",
                  "--cluster-config-file",
                  "nodes.conf",
                  "--cluster-node-timeout",
                  "2000"));
      if (password != null) {
        clusterArgs.addAll(List.of("--masterauth", password));
      }
      if (cert != null) {
        clusterArgs.addAll(List.of("--tls-cluster", "yes", "--tls-replication", "yes"));
      }
      for (int i = 0; i < 3; i++) {
        r.startNode(dir, clusterArgs);
      }
      for (int port : r.ports) {
        r.await(port, "PONG", "ping");
      }
      List<String> create = new ArrayList<>(List.of("--cluster", "create"));
      for (int port : r.ports) {
        create.add("127.0.0.1:" + port);
      }
      create.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
      List<String> out = r.cli(r.ports.get(0), create.toArray(new String[0]));
      for (int port : r.ports) {
        try {
          r.await(port, "cluster_state:ok", "cluster", "info");
        } catch (IllegalStateException e) {
          throw new IllegalStateException(e.getMessage() + "; redis-cli said: " + out, e);
        }
      }
      return r;
    } catch (IOException | InterruptedException | RuntimeException e) {
      r.close();
      throw e;
    }
  }

  /**
   * One Redis Sentinel (no password of its own, as Lettuce sends none to sentinels) monitoring the
   * primary on {@code primaryPort} as {@code master}, with {@code password} to reach it.
   */
  public static PrivateRedis sentinel(Path dir, int primaryPort, String password, String master)
      throws IOException, InterruptedException {
    PrivateRedis r = new PrivateRedis(null, null);
    try {
      int port = r.freePortWithBus();
      Path d = dir.resolve("s" + port);
      Files.createDirectories(d);
      Path conf = d.resolve("sentinel.conf");
      Files.writeString(
          conf,
          String.join(
              "\n",
              "port " + port,
              "bind 127.0.0.1",
              "dir " + d,
              "sentinel monitor " + master + " 127.0.0.1 " + primaryPort + " 1",
              "sentinel auth-pass " + master + " " + password,
              ""));
      r.ports.add(port);
      r.processes.add(
          new ProcessBuilder(List.of(serverBinary(), conf.toString(), "--sentinel"))
              .redirectOutput(d.resolve("sentinel.log").toFile())
              .redirectErrorStream(true)
              .start());
      r.await(port, "127.0.0.1", "sentinel", "get-master-addr-by-name", master);
      return r;
    } catch (IOException | InterruptedException | RuntimeException e) {
      r.close();
      throw e;
    }
  }

  /** The ports of the servers, in start order. */
  public List<Integer> ports() {
    return List.copyOf(ports);
  }

  private void startNode(Path dir, List<String> extra) throws IOException {
    int port = freePortWithBus();
    Path d = dir.resolve("n" + port);
    Files.createDirectories(d);
    List<String> cmd =
        new ArrayList<>(
            List.of(
                serverBinary(),
                "--bind",
                "127.0.0.1",
                "--dir",
                d.toString(),
                "--save",
                "",
                "--appendonly",
                "no"));
    if (cert != null) {
      Path key = cert.resolveSibling("key.pem");
      cmd.addAll(
          List.of(
              "--port",
              "0",
              "--tls-port",
              Integer.toString(port),
              "--tls-cert-file",
              cert.toString(),
              "--tls-key-file",
              key.toString(),
              "--tls-ca-cert-file",
              cert.toString(),
              "--tls-auth-clients",
              "no"));
    } else {
      cmd.addAll(List.of("--port", Integer.toString(port)));
    }
    if (password != null) {
      cmd.addAll(List.of("--requirepass", password));
    }
    cmd.addAll(extra);
    ports.add(port);
    processes.add(
        new ProcessBuilder(cmd)
            .redirectOutput(d.resolve("redis.log").toFile())
            .redirectErrorStream(true)
            .start());
  }

  private void await(int port, String expected, String... command) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    List<String> last = List.of();
    while (System.nanoTime() < deadline) {
      last = cli(port, command);
      if (String.join("\n", last).contains(expected)) {
        return;
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException(
        "redis on "
            + port
            + " did not answer "
            + expected
            + " to "
            + String.join(" ", command)
            + ": "
            + last);
  }

  /** Runs a command on the server at {@code port}, with the password and TLS it needs. */
  public List<String> cli(int port, String... command) {
    List<String> cmd =
        new ArrayList<>(List.of(cliBinary(), "-h", "127.0.0.1", "-p", Integer.toString(port)));
    if (cert != null) {
      cmd.addAll(List.of("--tls", "--cacert", cert.toString()));
    }
    if (password != null) {
      cmd.addAll(List.of("-a", password, "--no-auth-warning"));
    }
    cmd.addAll(List.of(command));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
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

  private static void run(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(
          String.join(" ", cmd) + " failed: " + new String(out, StandardCharsets.UTF_8));
    }
  }

  /** A free port, below the ephemeral range, whose cluster bus port (port + 10000) is free too. */
  private int freePortWithBus() throws IOException {
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
    throw new IOException("no free port pair for a Redis node");
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
