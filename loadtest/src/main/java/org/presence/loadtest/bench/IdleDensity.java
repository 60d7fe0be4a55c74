package org.presence.loadtest.bench;

import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.presence.loadtest.client.DeviceClient;
import org.presence.protocol.device.DeviceMessage.Connect;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Idle density (issue 3): the memory a Presence node spends per idle, authenticated device
 * session, next to a bare Netty WebSocket server ({@link BareWsServer}) holding as many idle
 * sockets in the same run. For each server, in its own JVM with the same options: warm up, full
 * GC, measure; open the sessions from this process; let them settle; full GC, measure; the
 * difference divided by the number of sessions is the cost of one. Heap is measured after a full
 * GC ({@code jcmd GC.run}), direct memory by Netty's counter, RSS from {@code /proc}.
 */
@Command(
    name = "idle-density",
    mixinStandardHelpOptions = true,
    description = "Memory per idle authenticated device session, against a bare Netty server.")
public final class IdleDensity implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--sessions", defaultValue = "15000", description = "Idle sessions to hold.")
  int sessions;

  @Option(names = "--server-jar", required = true, description = "The node's jar (presence.jar).")
  Path serverJar;

  @Option(names = "--heap", defaultValue = "1g", description = "-Xms/-Xmx of both servers.")
  String heap;

  @Option(names = "--io-threads", defaultValue = "4", description = "Event loops of both servers.")
  int ioThreads;

  @Option(names = "--window", defaultValue = "200", description = "Connects in flight at once.")
  int window;

  @Option(names = "--warmup", defaultValue = "1000", description = "Sessions opened and closed first.")
  int warmup;

  @Option(names = "--settle", defaultValue = "5", description = "Seconds idle before measuring.")
  int settle;

  @Option(
      names = "--status",
      defaultValue = "online",
      description = "Status each session sends once after connecting (none: send nothing).")
  String status;

  @Option(
      names = "--histogram",
      description = "Also print the classes whose live heap grew most, per session.")
  boolean histogram;

  @Option(
      names = "--sources",
      split = ",",
      defaultValue = "127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4",
      description = "Source addresses for the client sockets.")
  List<String> sources;

  public static void main(String[] args) {
    System.exit(new CommandLine(new IdleDensity()).execute(args));
  }

  /** Live-heap growth per class of the last measured server, bytes per session. */
  private java.util.Map<String, Double> lastGrowth = java.util.Map.of();

  /** Per-session figures of one server. */
  private record Figures(ServerProcess.Memory before, ServerProcess.Memory after, int held) {
    double heap() {
      return (after.heapBytes() - before.heapBytes()) / (double) held;
    }

    double direct() {
      return (after.directBytes() - before.directBytes()) / (double) held;
    }

    double rss() {
      return (after.rssBytes() - before.rssBytes()) / (double) held;
    }
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    BenchSupport.head(
        out,
        "Idle density",
        "bin/device-bench idle-density --sessions " + sessions + " --status " + status);
    Path work = Files.createTempDirectory("idle-density");
    BenchKeys keys = BenchKeys.generate();
    Path jwks = work.resolve("jwks.json");
    keys.writeJwks(jwks);
    out.printf(Locale.ROOT, "minting %d tokens...%n", sessions + warmup);
    out.flush();
    List<String> tokens = keys.mintMany(sessions + warmup, "idle");
    List<InetSocketAddress> from = BenchSupport.sources(sources);

    Figures presence;
    Figures bare;
    try (DeviceClient client = DeviceClient.create(2)) {
      int port = ServerProcess.freePort();
      try (ServerProcess server =
          ServerProcess.start(
              "presence",
              BenchSupport.presenceCommand(serverJar, heap, port, work.resolve("data"), jwks, ioThreads),
              port,
              work.resolve("presence.log"))) {
        URI uri = URI.create("ws://127.0.0.1:" + port + "/presence");
        presence =
            hold(
                out,
                server,
                i ->
                    withStatus(
                        client.connect(
                            uri,
                            from.get(i % from.size()),
                            new Connect(tokens.get(i), null, "phone"))),
                i ->
                    client.connect(
                        uri,
                        from.get(i % from.size()),
                        new Connect(tokens.get(sessions + i), null, "phone")));
      }
      java.util.Map<String, Double> presenceGrowth = lastGrowth;
      int barePort = ServerProcess.freePort();
      try (ServerProcess server =
          ServerProcess.start(
              "bare",
              BenchSupport.bareCommand(heap, barePort, ioThreads),
              barePort,
              work.resolve("bare.log"))) {
        URI uri = URI.create("ws://127.0.0.1:" + barePort + "/ws");
        bare =
            hold(
                out,
                server,
                i -> client.open(uri, from.get(i % from.size())),
                i -> client.open(uri, from.get(i % from.size())));
      }
      if (histogram) {
        printComparison(out, presenceGrowth, lastGrowth);
      }
    }
    out.printf(Locale.ROOT, "%n| per idle session (N = %,d) | Presence | bare Netty WS | ratio |%n", sessions);
    out.printf(Locale.ROOT, "|---|---:|---:|---:|%n");
    row(out, "heap after full GC", presence.heap(), bare.heap());
    row(out, "Netty direct memory", presence.direct(), bare.direct());
    row(out, "process RSS", presence.rss(), bare.rss());
    out.printf(
        Locale.ROOT,
        "%nPresence: heap %,d -> %,d B, RSS %,d -> %,d B; bare: heap %,d -> %,d B, RSS %,d -> %,d B%n",
        presence.before().heapBytes(), presence.after().heapBytes(),
        presence.before().rssBytes(), presence.after().rssBytes(),
        bare.before().heapBytes(), bare.after().heapBytes(),
        bare.before().rssBytes(), bare.after().rssBytes());
    out.flush();
    return 0;
  }

  /** The session, once it sent its one status (when {@code --status} asks for one). */
  private java.util.concurrent.CompletableFuture<DeviceClient.Session> withStatus(
      java.util.concurrent.CompletableFuture<DeviceClient.Session> connected) {
    if ("none".equals(status)) {
      return connected;
    }
    org.presence.protocol.model.PresenceStatus st =
        org.presence.protocol.model.PresenceStatus.fromWire(status)
            .orElseThrow(() -> new IllegalArgumentException("--status: " + status));
    return connected.thenCompose(
        s ->
            s.status(st, null)
                .thenApply(
                    reply -> {
                      if (DeviceClient.isError(reply)) {
                        throw new IllegalStateException("status refused: " + reply);
                      }
                      return s;
                    }));
  }

  private static void row(PrintWriter out, String what, double presence, double bare) {
    out.printf(
        Locale.ROOT,
        "| %s | %,.0f B (%.2f KiB) | %,.0f B (%.2f KiB) | %.2f |%n",
        what, presence, presence / 1024, bare, bare / 1024, bare == 0 ? 0 : presence / bare);
  }

  private static java.util.Map<String, Double> growth(
      java.util.Map<String, long[]> before, java.util.Map<String, long[]> after, int n) {
    java.util.Map<String, Double> out = new java.util.HashMap<>();
    after.forEach(
        (k, v) -> {
          long[] b = before.getOrDefault(k, new long[2]);
          double bytes = (v[1] - b[1]) / (double) n;
          if (Math.abs(bytes) >= 1) {
            out.put(k, bytes);
          }
        });
    return out;
  }

  /** The classes whose per-session growth differs most between the two servers. */
  private static void printComparison(
      PrintWriter out, java.util.Map<String, Double> presence, java.util.Map<String, Double> bare) {
    java.util.Set<String> classes = new java.util.HashSet<>(presence.keySet());
    classes.addAll(bare.keySet());
    out.printf(
        Locale.ROOT,
        "%n| class (live heap per session) | Presence | bare | difference |%n|---|---:|---:|---:|%n");
    classes.stream()
        .sorted(
            (x, y) ->
                Double.compare(
                    Math.abs(presence.getOrDefault(y, 0.0) - bare.getOrDefault(y, 0.0)),
                    Math.abs(presence.getOrDefault(x, 0.0) - bare.getOrDefault(x, 0.0))))
        .limit(40)
        .forEach(
            c ->
                out.printf(
                    Locale.ROOT,
                    "| %s | %.0f | %.0f | %+.0f |%n",
                    c,
                    presence.getOrDefault(c, 0.0),
                    bare.getOrDefault(c, 0.0),
                    presence.getOrDefault(c, 0.0) - bare.getOrDefault(c, 0.0)));
    out.flush();
  }

  /** Warms {@code server} up, measures, opens the sessions, settles, measures again. */
  private Figures hold(
      PrintWriter out,
      ServerProcess server,
      java.util.function.IntFunction<java.util.concurrent.CompletableFuture<DeviceClient.Session>> open,
      java.util.function.IntFunction<java.util.concurrent.CompletableFuture<DeviceClient.Session>> warm)
      throws Exception {
    Window.Result<DeviceClient.Session> w = Window.run(warmup, window, warm);
    BenchSupport.abortAll(w.done());
    // Closed sessions leave after the node's grace period (1 s here).
    TimeUnit.SECONDS.sleep(3);
    ServerProcess.Memory before = server.measure();
    java.util.Map<String, long[]> histBefore = histogram ? server.histogram() : null;
    Window.Result<DeviceClient.Session> r = Window.run(sessions, window, open);
    if (r.failed() > 0) {
      throw new IllegalStateException(
          r.failed() + " sessions failed, first: " + r.firstFailure() + " (log: " + server.log() + ")");
    }
    out.printf(
        Locale.ROOT,
        "%s: %,d sessions open in %.1f s; idle for %d s%n",
        server == null ? "" : server.log().getFileName(),
        r.done().size(),
        r.elapsedNanos() / 1e9,
        settle);
    out.flush();
    TimeUnit.SECONDS.sleep(settle);
    ServerProcess.Memory after = server.measure();
    if (histogram) {
      lastGrowth = growth(histBefore, server.histogram(), r.done().size());
    }
    BenchSupport.abortAll(r.done());
    return new Figures(before, after, r.done().size());
  }
}
