package org.presence.loadtest.engine;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A JVM this harness starts from its own class path (an injector, or a floor server): standard
 * output is read line by line by a daemon thread, standard error goes to a log file, and standard
 * input stays open for commands. A child ends its load when its standard input closes, so a harness
 * that is killed (even by SIGKILL) leaves no injector or floor running.
 */
final class ChildProcess implements AutoCloseable {
  private final Process process;
  private final Writer stdin;
  private final Thread reader;

  private ChildProcess(Process process, Thread reader) {
    this.process = process;
    this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    this.reader = reader;
  }

  /**
   * Starts {@code java <jvmOptions> -cp <our class path> org.presence.loadtest.LoadTestMain
   * <args>}; every stdout line goes to {@code lines}.
   */
  static ChildProcess start(
      String name, List<String> jvmOptions, List<String> args, Path log, Consumer<String> lines)
      throws IOException {
    return start(name, jvmOptions, args, log, lines, () -> {});
  }

  /**
   * Starts the child as {@link #start(String, List, List, Path, Consumer)} does; {@code ended} runs
   * once its standard output has ended (it exited, or closed it), after its last line.
   */
  static ChildProcess start(
      String name,
      List<String> jvmOptions,
      List<String> args,
      Path log,
      Consumer<String> lines,
      Runnable ended)
      throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    // The harness's TLS trust (-Djavax.net.ssl.trustStore=...) holds in its children too.
    System.getProperties().stringPropertyNames().stream()
        .filter(k -> k.startsWith("javax.net.ssl."))
        .sorted()
        .forEach(k -> cmd.add("-D" + k + "=" + System.getProperty(k)));
    cmd.addAll(jvmOptions);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("org.presence.loadtest.LoadTestMain");
    cmd.addAll(args);
    Process p =
        new ProcessBuilder(cmd)
            .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    Thread t =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                  lines.accept(line);
                }
              } catch (IOException e) {
                // The child is gone; its exit status tells the rest.
              }
              ended.run();
            },
            "lt-child-" + name);
    t.setDaemon(true);
    t.start();
    return new ChildProcess(p, t);
  }

  /** Sends one line to the child's standard input; safe from any thread. */
  synchronized void send(String line) throws IOException {
    stdin.write(line);
    stdin.write('\n');
    stdin.flush();
  }

  /**
   * Closes the child's standard input, which tells it to stop (an injector ends its users and
   * exits; a floor exits).
   */
  void closeInput() {
    try {
      stdin.close();
    } catch (IOException e) {
      // Already gone.
    }
  }

  /**
   * Asks the child to stop by closing its standard input and waits up to {@code graceMillis} for it
   * to exit; then ends it as {@link #close} does.
   */
  void stop(long graceMillis) {
    closeInput();
    try {
      process.waitFor(graceMillis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    close();
  }

  /**
   * Waits up to {@code millis} for the child to exit and its output to be read; its exit status or
   * -1.
   */
  int waitFor(long millis) throws InterruptedException {
    if (!process.waitFor(millis, TimeUnit.MILLISECONDS)) {
      return -1;
    }
    reader.join(5_000);
    return process.exitValue();
  }

  /** Whether it still runs. */
  boolean isAlive() {
    return process.isAlive();
  }

  /** The pid. */
  long pid() {
    return process.pid();
  }

  /** Ends the child: SIGTERM, then SIGKILL after five seconds. */
  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroy();
      try {
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }
}
