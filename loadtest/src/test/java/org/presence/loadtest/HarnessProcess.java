package org.presence.loadtest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code loadtest} in a JVM of its own, as {@code bin/loadtest} starts it, for tests that signal or
 * kill it, or that need JVM-wide settings (a trust store): its output goes to files, its
 * descendants can be found.
 */
public final class HarnessProcess implements AutoCloseable {
  private final Process process;
  private final Path out;
  private final Path err;

  private HarnessProcess(Process process, Path out, Path err) {
    this.process = process;
    this.out = out;
    this.err = err;
  }

  /** Starts {@code java <jvmOptions> -cp <this class path> LoadTestMain <args>}, logging in dir. */
  public static HarnessProcess start(Path dir, List<String> jvmOptions, String... args)
      throws IOException {
    Files.createDirectories(dir);
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.add("-Xmx128m");
    cmd.addAll(jvmOptions);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(LoadTestMain.class.getName());
    cmd.addAll(List.of(args));
    Path out = dir.resolve("harness.out");
    Path err = dir.resolve("harness.err");
    Process p =
        new ProcessBuilder(cmd)
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.PIPE)
            .start();
    return new HarnessProcess(p, out, err);
  }

  /** The harness's process. */
  public Process process() {
    return process;
  }

  /** What it printed on standard output so far. */
  public String out() {
    return read(out);
  }

  /** What it printed on standard error so far. */
  public String err() {
    return read(err);
  }

  /** Waits up to {@code timeout} for standard output to contain {@code text}. */
  public boolean awaitOut(String text, Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < end) {
      if (out().contains(text)) {
        return true;
      }
      if (!process.isAlive()) {
        return out().contains(text);
      }
      Thread.sleep(100);
    }
    return false;
  }

  /** Waits up to {@code timeout} for the harness to end; its exit status, or -1. */
  public int waitFor(Duration timeout) throws InterruptedException {
    return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
  }

  private static String read(Path p) {
    try {
      return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      return "";
    }
  }

  /** Kills the harness and whatever it started that is still running. */
  @Override
  public void close() {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
  }
}
