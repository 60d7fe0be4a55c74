package org.presence.gateway.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A PostgreSQL server of one test's own, on a free loopback port, in a throw-away directory: a test
 * may stop it (as a crash would) and start it again without disturbing the shared database of the
 * other tests. It runs as the unprivileged user {@code bin/backends} uses ({@code
 * PRESENCE_TEST_BACKENDS_USER}; PostgreSQL refuses root), with the binaries of {@code
 * PRESENCE_TEST_PG_BIN}.
 */
public final class PostgresProcess implements AutoCloseable {
  private final Path dir;
  private final int port;
  private final String bin;
  private final String user;

  private PostgresProcess(Path dir, int port, String bin, String user) {
    this.dir = dir;
    this.port = port;
    this.bin = bin;
    this.user = user;
  }

  /** Whether the environment names the binaries (set by {@code bin/backends}). */
  public static boolean available() {
    String b = System.getenv("PRESENCE_TEST_PG_BIN");
    return b != null && !b.isBlank() && Files.isExecutable(Path.of(b, "pg_ctl"));
  }

  /** Makes a cluster (initdb) and starts it. */
  public static PostgresProcess start() throws IOException, InterruptedException {
    String bin = System.getenv("PRESENCE_TEST_PG_BIN");
    String user = System.getenv("PRESENCE_TEST_BACKENDS_USER");
    Path dir = Files.createTempDirectory("presence-pg-");
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    PostgresProcess pg = new PostgresProcess(dir, port, bin, user);
    if (pg.asOther()) {
      run(List.of("chown", user, dir.toString()));
    }
    pg.runAs(
        List.of(
            bin + "/initdb",
            "-D",
            dir.resolve("data").toString(),
            "-U",
            "presence",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync"));
    pg.startAgain();
    return pg;
  }

  private boolean asOther() {
    return user != null && !user.isBlank() && !user.equals(System.getProperty("user.name"));
  }

  private void runAs(List<String> cmd) throws IOException, InterruptedException {
    List<String> full = new ArrayList<>();
    if (asOther()) {
      full.addAll(List.of("runuser", "-u", user, "--"));
    }
    full.addAll(cmd);
    run(full);
  }

  private static void run(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(90, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(
          String.join(" ", cmd) + " failed: " + new String(out, StandardCharsets.UTF_8));
    }
  }

  /** Starts the server (again, after {@link #crash}) on the same port and data. */
  public void startAgain() throws IOException, InterruptedException {
    runAs(
        List.of(
            bin + "/pg_ctl",
            "-D",
            dir.resolve("data").toString(),
            "-l",
            dir.resolve("pg.log").toString(),
            "-w",
            "-t",
            "60",
            "-o",
            "-p " + port + " -h 127.0.0.1 -k " + dir + " -c fsync=off -c full_page_writes=off",
            "start"));
  }

  /** Stops the server at once, as a crash would (immediate shutdown: no checkpoint). */
  public void crash() throws IOException, InterruptedException {
    runAs(
        List.of(
            bin + "/pg_ctl",
            "-D",
            dir.resolve("data").toString(),
            "-m",
            "immediate",
            "-w",
            "stop"));
  }

  public String url() {
    return "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=presence";
  }

  @Override
  public void close() {
    try {
      crash();
    } catch (Exception ignored) {
      // Already stopped.
    }
    try {
      run(List.of("rm", "-rf", dir.toString()));
    } catch (Exception ignored) {
      // A temporary directory left behind.
    }
  }
}
