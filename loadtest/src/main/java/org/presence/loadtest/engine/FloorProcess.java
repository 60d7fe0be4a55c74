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
 * and not the harness's, and learns its URL from the line it prints.
 */
public final class FloorProcess {
  /** The line a floor prints once it listens. */
  public static final Pattern LISTENING = Pattern.compile("floor listening on (http://\\S+)");

  private static final java.util.Map<ChildProcess, String> URLS =
      new java.util.concurrent.ConcurrentHashMap<>();

  private FloorProcess() {}

  static ChildProcess start(List<String> jvmOptions, Path log)
      throws IOException, InterruptedException {
    CompletableFuture<String> url = new CompletableFuture<>();
    ChildProcess p =
        ChildProcess.start(
            "floor",
            jvmOptions,
            List.of("floor", "--host", "127.0.0.1", "--port", "0"),
            log,
            line -> {
              Matcher m = LISTENING.matcher(line);
              if (m.find()) {
                url.complete(m.group(1));
              }
            });
    try {
      URLS.put(p, url.get(60, TimeUnit.SECONDS));
      return p;
    } catch (ExecutionException | TimeoutException e) {
      p.close();
      throw new IOException("the floor did not start (see " + log + ")", e);
    }
  }

  static String url(ChildProcess p) {
    return URLS.get(p);
  }
}
