package org.presence.gateway.testing;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.presence.gateway.identity.DevIdentity;

/**
 * A gateway node running as its own process from the shaded jar ({@code target/presence.jar}), as
 * operators run it: for tests that kill a node, or that need nodes not to share a JVM. Its output
 * goes to files (a pipe would lose the last lines of a child that exits). Tokens are minted with
 * the development key in its data directory, which the test puts there (several nodes trusting one
 * key).
 */
public final class NodeProcess implements NodeAddress, AutoCloseable {
  private static final Pattern LISTENING =
      Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");

  private final String name;
  private final Process process;
  private final Path out;
  private final Path err;
  private final Path dataDir;
  private final int port;

  private NodeProcess(String name, Process process, Path out, Path err, Path dataDir, int port) {
    this.name = name;
    this.process = process;
    this.out = out;
    this.err = err;
    this.dataDir = dataDir;
    this.port = port;
  }

  /**
   * Starts {@code serve --port 0 --data-dir dataDir} plus {@code args}; waits (at most a minute)
   * until it listens. Its logs go to {@code logDir/<name>.out} and {@code .err}.
   */
  public static NodeProcess start(String name, Path dataDir, Path logDir, List<String> args)
      throws IOException, InterruptedException {
    Path jar = Path.of("target", "presence.jar");
    if (!Files.exists(jar)) {
      throw new IllegalStateException("target/presence.jar is not built (run mvn verify)");
    }
    Files.createDirectories(logDir);
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.add("-Xmx256m");
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-jar");
    cmd.add(jar.toString());
    cmd.addAll(
        List.of("serve", "--port", "0", "--admin-port", "0", "--data-dir", dataDir.toString()));
    cmd.addAll(args);
    Path out = logDir.resolve(name + ".out");
    Path err = logDir.resolve(name + ".err");
    Process p =
        new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      for (Path f : List.of(out, err)) {
        for (String line : lines(f)) {
          Matcher m = LISTENING.matcher(line);
          if (m.find()) {
            return new NodeProcess(name, p, out, err, dataDir, Integer.parseInt(m.group(1)));
          }
        }
      }
      if (!p.isAlive()) {
        throw new IllegalStateException(
            name + " exited with " + p.exitValue() + ": " + lines(out) + lines(err));
      }
      Thread.sleep(50);
    }
    p.destroyForcibly();
    throw new IllegalStateException(name + " did not start: " + lines(out) + lines(err));
  }

  private static List<String> lines(Path f) {
    try {
      return Files.exists(f) ? Files.readAllLines(f, StandardCharsets.UTF_8) : List.of();
    } catch (IOException e) {
      return List.of();
    }
  }

  public String name() {
    return name;
  }

  public int port() {
    return port;
  }

  @Override
  public URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }

  @Override
  public URI wsUri(String path) {
    return URI.create("ws://127.0.0.1:" + port + path);
  }

  @Override
  public String token(String email) {
    return DevIdentity.loadOrCreate(dataDir).mint(email, Duration.ofHours(1), "presence");
  }

  /** What the node logged so far (both streams), for failure messages. */
  public String log() {
    List<String> all = new ArrayList<>(lines(out));
    all.addAll(lines(err));
    return String.join("\n", all);
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** SIGKILL: the node dies at once, releasing nothing. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }

  /** SIGTERM: the node drains; the exit status, or -1 if it did not exit within {@code wait}. */
  public int terminate(Duration wait) throws InterruptedException {
    process.destroy();
    return process.waitFor(wait.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
  }

  @Override
  public void close() {
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
