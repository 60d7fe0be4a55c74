package org.presence.loadtest.engine;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Starts a floor server in its own JVM ({@code loadtest floor --port 0}), so its memory is its own
 * and not the harness's, and learns its URL and transport from the line it prints.
 */
public final class FloorProcess {
  /** The line a floor prints once it listens: its URL, and its transport after " on ". */
  public static final Pattern LISTENING =
      Pattern.compile("floor listening on (http://\\S+)(?: on (\\S+))?");

  /** Where a started floor listens, and on which transport ({@code null} if it did not say). */
  record Listening(String url, String transport) {}

  private static final java.util.Map<ChildProcess, Listening> LISTENINGS =
      new java.util.concurrent.ConcurrentHashMap<>();

  private FloorProcess() {}

  /**
   * Starts a floor with {@code jvmOptions}, its sockets on {@code transport} ({@code null}: {@code
   * auto}), logging to {@code log}.
   */
  static ChildProcess start(List<String> jvmOptions, String transport, Path log)
      throws IOException, InterruptedException {
    List<String> args =
        new java.util.ArrayList<>(
            List.of("floor", "--host", "127.0.0.1", "--port", "0", "--until-stdin-closes"));
    if (transport != null) {
      args.addAll(List.of("--transport", transport));
    }
    CompletableFuture<Listening> listening = new CompletableFuture<>();
    ChildProcess p =
        ChildProcess.start(
            "floor",
            jvmOptions,
            args,
            log,
            line -> {
              Matcher m = LISTENING.matcher(line);
              if (m.find()) {
                listening.complete(new Listening(m.group(1), m.group(2)));
              }
            });
    try {
      LISTENINGS.put(p, listening.get(60, TimeUnit.SECONDS));
      return p;
    } catch (ExecutionException | TimeoutException e) {
      p.close();
      throw new IOException("the floor did not start (see " + log + ")", e);
    }
  }

  static Listening listening(ChildProcess p) {
    return LISTENINGS.get(p);
  }
}
