package org.presence.store.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;

/**
 * A Redis, or a Redis Cluster of three primaries, of one test's own on loopback, started with
 * Debian's {@code redis-server} (as {@code bin/backends} finds it) and the options a test needs: a
 * password ({@code requirepass}, and {@code masterauth} for the cluster), TLS ({@code --tls-port}
 * only, with a certificate {@link #selfSignedCertificate} made). The store-side counterpart of the
 * gateway's {@code RedisClusterProcess}, for the settings the shared test backends do not have.
 */
public final class PrivateRedis implements AutoCloseable {
  private final List<Integer> ports = new ArrayList<>();
  private final RedisServers servers;
  private final String password;
  private final Path cert;

  private PrivateRedis(String password, Path cert) {
    this.servers = new RedisServers(password, cert);
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
    RedisServers.run(
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
      r.servers.await(r.ports.get(0), "PONG", "ping");
      return r;
    } catch (IOException | InterruptedException | RuntimeException e) {
      r.close();
      throw e;
    }
  }

  /** A Redis Cluster of three primaries (no replicas), with the same options as {@link #single}. */
  public static PrivateRedis cluster(Path dir, String password, Path cert)
      throws IOException, InterruptedException {
    return cluster(dir, password, cert, 0);
  }

  /**
   * A Redis Cluster of three primaries, each with one replica ({@code CLUSTER NODES} says which is
   * which), no password, plain; a replica is promoted about two seconds after its primary stops
   * answering. A replica may still be in its first sync on return.
   */
  public static PrivateRedis clusterWithReplicas(Path dir)
      throws IOException, InterruptedException {
    return cluster(dir, null, null, 1);
  }

  private static PrivateRedis cluster(Path dir, String password, Path cert, int replicas)
      throws IOException, InterruptedException {
    PrivateRedis r = new PrivateRedis(password, cert);
    try {
      List<String> clusterArgs = RedisServers.clusterArgs(2000);
      if (password != null) {
        clusterArgs.addAll(List.of("--masterauth", password));
      }
      if (cert != null) {
        clusterArgs.addAll(List.of("--tls-cluster", "yes", "--tls-replication", "yes"));
      }
      // A replica's first full sync at once, not after the default 5 s wait for others.
      clusterArgs.addAll(List.of("--repl-diskless-sync-delay", "0"));
      for (int i = 0; i < 3 * (1 + replicas); i++) {
        r.startNode(dir, clusterArgs);
      }
      for (int port : r.ports) {
        r.servers.await(port, "PONG", "ping");
      }
      r.servers.createCluster(r.ports, replicas);
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
      int port = r.servers.pickPort();
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
      r.servers.start(port, List.of(conf.toString(), "--sentinel"), d.resolve("sentinel.log"));
      r.servers.await(port, "127.0.0.1", "sentinel", "get-master-addr-by-name", master);
      return r;
    } catch (IOException | InterruptedException | RuntimeException e) {
      r.close();
      throw e;
    }
  }

  /** The {@code redis-cluster://} URL of a {@link #cluster}, every node a seed. */
  public String clusterUrl() {
    StringBuilder url = new StringBuilder("redis-cluster://");
    for (int port : ports) {
      url.append(url.length() > "redis-cluster://".length() ? "," : "").append("127.0.0.1:");
      url.append(port);
    }
    return url.toString();
  }

  /** A backend on this {@link #cluster} with {@code keyPrefix}; the caller closes it. */
  public RedisBackend clusterBackend(String keyPrefix) {
    return RedisBackend.connect(
        StoreConfig.RedisConfig.redis(clusterUrl()).withKeyPrefix(keyPrefix));
  }

  /** The ports of the servers, in start order. */
  public List<Integer> ports() {
    return List.copyOf(ports);
  }

  private void startNode(Path dir, List<String> extra) throws IOException {
    int port = servers.pickPort();
    Path d = dir.resolve("n" + port);
    Files.createDirectories(d);
    List<String> args =
        new ArrayList<>(
            List.of(
                "--bind", "127.0.0.1", "--dir", d.toString(), "--save", "", "--appendonly", "no"));
    if (cert != null) {
      Path key = cert.resolveSibling("key.pem");
      args.addAll(
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
      args.addAll(List.of("--port", Integer.toString(port)));
    }
    if (password != null) {
      args.addAll(List.of("--requirepass", password));
    }
    args.addAll(extra);
    ports.add(port);
    servers.start(port, args, d.resolve("redis.log"));
  }

  /** SIGKILL of the server on {@code port}, waiting until it is gone. */
  public void kill(int port) throws InterruptedException {
    servers.kill(port);
  }

  /** Sends {@code signal} ({@code STOP}, {@code CONT}) to the server on {@code port}. */
  public void signal(int port, String signal) throws IOException, InterruptedException {
    servers.signal(port, signal);
  }

  /** Runs a command on the server at {@code port}, with the password and TLS it needs. */
  public List<String> cli(int port, String... command) {
    return servers.cli(port, command);
  }

  @Override
  public void close() {
    servers.close();
  }
}
