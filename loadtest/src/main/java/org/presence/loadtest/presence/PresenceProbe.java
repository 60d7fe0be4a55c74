package org.presence.loadtest.presence;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.presence.loadtest.probe.ProcStatus;
import org.presence.loadtest.probe.ServerMemory;
import org.presence.loadtest.probe.ServerProbe;
import org.presence.loadtest.transport.Urls;

/**
 * Reads a Presence node's memory: heap ({@code jvm_memory_heap_used}), direct memory ({@code
 * jvm_netty_direct_used}) and open connections ({@code presence_connections_open}) from its {@code
 * /metrics}, served on the node's admin port; when the node's pid is known (it runs on this
 * machine), a full GC first through {@code jcmd <pid> GC.run} and the resident set size from {@code
 * /proc/<pid>/status}.
 */
public final class PresenceProbe implements ServerProbe {
  private final URI metrics;
  private final OptionalLong pid;

  /**
   * A probe of the node whose admin port is at {@code base} (where {@code /metrics} is served),
   * whose process is {@code pid} when known. {@code base} may name {@code /metrics} itself: {@code
   * http://127.0.0.1:8081} and {@code http://127.0.0.1:8081/metrics} read the same page.
   */
  public PresenceProbe(URI base, OptionalLong pid) {
    String path = base.getPath() == null ? "" : base.getPath();
    this.metrics =
        path.endsWith("/metrics") || path.endsWith("/metrics/")
            ? Urls.http(base, "")
            : Urls.http(base, "/metrics");
    this.pid = pid;
  }

  /** The URL of the node's metrics page this probe reads. */
  public URI metricsUrl() {
    return metrics;
  }

  @Override
  public Optional<ServerMemory> measure(boolean fullGc) {
    boolean gcDone = fullGc && pid.isPresent() && fullGc(pid.getAsLong());
    Map<String, Double> m = scrape();
    if (m.isEmpty()) {
      return Optional.empty();
    }
    long connections = 0;
    boolean anyConnections = false;
    for (Map.Entry<String, Double> e : m.entrySet()) {
      if (e.getKey().startsWith("presence_connections_open{")) {
        connections += e.getValue().longValue();
        anyConnections = true;
      }
    }
    return Optional.of(
        new ServerMemory(
            m.getOrDefault("jvm_memory_heap_used", -1.0).longValue(),
            gcDone,
            m.getOrDefault("jvm_netty_direct_used", -1.0).longValue(),
            pid.isPresent() ? ProcStatus.rssBytes(pid.getAsLong()) : -1,
            anyConnections ? connections : -1));
  }

  private Map<String, Double> scrape() {
    try {
      HttpResponse<String> r =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(metrics).timeout(Duration.ofSeconds(30)).build(),
                  HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? parse(r.body()) : Map.of();
    } catch (IOException e) {
      return Map.of();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Map.of();
    }
  }

  /** Prometheus text format to name-with-labels → value (comments skipped). */
  static Map<String, Double> parse(String text) {
    Map<String, Double> out = new TreeMap<>();
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int space = line.lastIndexOf(' ');
      if (space <= 0) {
        continue;
      }
      try {
        out.put(line.substring(0, space).trim(), Double.parseDouble(line.substring(space + 1)));
      } catch (NumberFormatException e) {
        // A value this probe does not read (NaN forms vary by exporter): skip the line.
      }
    }
    return out;
  }

  /** Runs {@code jcmd <pid> GC.run}; true when it succeeded within 60 s. */
  static boolean fullGc(long pid) {
    String jcmd =
        ProcessHandle.current()
            .info()
            .command()
            .map(java -> java.replaceAll("java$", "jcmd"))
            .orElse("jcmd");
    try {
      Process p =
          new ProcessBuilder(jcmd, Long.toString(pid), "GC.run")
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
