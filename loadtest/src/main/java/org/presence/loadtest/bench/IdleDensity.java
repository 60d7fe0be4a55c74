package org.presence.loadtest.bench;

import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.presence.client.PresenceStatus;
import org.presence.loadtest.presence.DeviceSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Idle density (issue 3): the memory a Presence node spends per idle, authenticated device session,
 * next to two bare Netty WebSocket servers holding as many idle sockets in the same run: the load
 * harness's floor (decoder, encoder and one shared handler per socket: the least Netty can hold)
 * and a textbook server ({@link BareWsServer}: HTTP codec, aggregator and {@code
 * WebSocketServerProtocolHandler}, as Netty's examples build it).
 *
 * <p>Each server runs in its own JVM with the same options. For each: open and close a warm-up
 * batch, full GC, measure; open the sessions from this process (for Presence each sends one status,
 * as a device does after connecting); let them settle; full GC, measure. The difference divided by
 * the number of sessions is the cost of one. Heap is measured after a full GC ({@code jcmd
 * GC.run}), direct memory by Netty's counter, native memory by the JVM's native memory tracking (on
 * in each server: its categories that hold memory per connection, {@link
 * ServerProcess#PER_CONNECTION}; every category is printed), RSS from {@code /proc}. RSS also grows
 * with the code the JIT compiles and the classes loaded during the run, megabytes that are no
 * session's; the tracked figure leaves those out, and leaves out what the kernel holds per socket
 * (the same for every server) and what native code allocates outside the JVM.
 *
 * <p>Presence is measured twice. <em>Fresh</em>: right after connecting, while the verified-token
 * cache holds each session's token and the grant cache each user's grants. <em>Steady</em>: once
 * the tokens have expired and the grant cache's entries too, which is the state of a device that
 * has held its socket for a while (sessions outlive their tokens). The run compresses that time
 * with short token lifetimes and cache settings, printed in the report.
 */
@Command(
    name = "idle-density",
    mixinStandardHelpOptions = true,
    description = "Memory per idle authenticated device session, against bare Netty servers.")
public final class IdleDensity implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--sessions", defaultValue = "15000", description = "Idle sessions to hold.")
  int sessions;

  @Option(names = "--server-jar", required = true, description = "The node's jar (presence.jar).")
  Path serverJar;

  @Option(names = "--heap", defaultValue = "1g", description = "-Xms/-Xmx of every server.")
  String heap;

  @Option(names = "--io-threads", defaultValue = "4", description = "Event loops of every server.")
  int ioThreads;

  @Option(names = "--window", defaultValue = "200", description = "Connects in flight at once.")
  int window;

  @Option(
      names = "--warmup",
      defaultValue = "1000",
      description = "Sessions opened and closed first.")
  int warmup;

  @Option(names = "--settle", defaultValue = "5", description = "Seconds idle before measuring.")
  int settle;

  @Option(
      names = "--token-lifetime",
      defaultValue = "120",
      description =
          "Seconds the sessions' tokens live; the steady measure waits for them to expire.")
  int tokenLifetime;

  @Option(names = "--no-steady", description = "Skip the steady measure (no wait for expiry).")
  boolean noSteady;

  @Option(
      names = "--nudge",
      defaultValue = "75",
      description = "Seconds of light cache activity after the expiry, before the steady measure.")
  int nudgeSeconds;

  @Option(
      names = "--status",
      defaultValue = "online",
      description = "Status each Presence session sends once after connecting (none: nothing).")
  String status;

  @Option(
      names = "--histogram",
      description = "Also print, per class, the live heap per session of Presence and the floor.")
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

  /** Per-session figures of one measure against its baseline. */
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

    /** Native memory as the JVM tracks it (NaN when it did not). */
    double nativeMemory() {
      return after.nativeBytes() < 0 || before.nativeBytes() < 0
          ? Double.NaN
          : (after.nativeBytes() - before.nativeBytes()) / (double) held;
    }

    double heapAndNative() {
      return heap() + nativeMemory();
    }

    /** Per tracked category of native memory, its growth per session. */
    Map<String, Double> trackedGrowth() {
      Map<String, Double> out = new java.util.TreeMap<>();
      after
          .tracked()
          .forEach(
              (k, v) -> out.put(k, (v - before.tracked().getOrDefault(k, 0L)) / (double) held));
      return out;
    }
  }

  /** {@code command} with the JVM's native memory tracking on ({@link Figures#nativeMemory}). */
  private static List<String> trackingNative(List<String> command) {
    return BenchSupport.withJvmOptions(command, List.of(ServerProcess.TRACK_NATIVE));
  }

  private PrintWriter out;
  private List<InetSocketAddress> from;
  private BenchClient client;

  @Override
  public Integer call() throws Exception {
    out = spec.commandLine().getOut();
    BenchSupport.head(
        out,
        "Idle density",
        "bin/device-bench idle-density --sessions " + sessions + " --status " + status);
    Path work = Files.createTempDirectory("idle-density");
    try {
      run(work);
    } finally {
      BenchSupport.deleteTree(work);
    }
    return 0;
  }

  private void run(Path work) throws Exception {
    BenchKeys keys = BenchKeys.generate();
    Path jwks = work.resolve("jwks.json");
    keys.writeJwks(jwks);
    from = BenchSupport.sources(sources);
    out.printf(Locale.ROOT, "minting %,d tokens...%n", sessions + warmup + 20);
    out.flush();
    List<String> warmTokens = keys.mintMany(warmup + 20, "warm");
    long minted = System.currentTimeMillis();
    List<String> tokens =
        keys.mintMany(sessions, "idle", java.time.Duration.ofSeconds(tokenLifetime));
    long expires = minted + tokenLifetime * 1000L;

    Figures fresh;
    Figures steady = null;
    Figures floor;
    Figures bare;
    Map<String, Double> presenceClasses;
    Map<String, Double> steadyClasses = null;
    Map<String, Double> floorClasses;
    client = new BenchClient(2);
    try {
      int port = ServerProcess.freePort();
      int adminPort = ServerProcess.freePortOtherThan(port);
      try (ServerProcess server =
          ServerProcess.start(
              "presence",
              trackingNative(
                  BenchSupport.presenceCommand(
                      serverJar,
                      heap,
                      port,
                      work.resolve("data"),
                      jwks,
                      ioThreads,
                      // Compress the time a session takes to reach its steady state (see class).
                      "identity.clock-skew=5s",
                      // Sessions outlive their tokens (a device refreshes its token on the socket);
                      // without this the node would end them 30 s after the tokens' expiry.
                      "device.identity-grace=1d",
                      "caches.grants.ttl=20s",
                      "admin.port=" + adminPort)),
              port,
              work.resolve("presence.log"),
              "http://127.0.0.1:" + adminPort + "/metrics",
              ServerProcess.METRICS_DIRECT)) {
        URI uri = URI.create("ws://127.0.0.1:" + port + "/presence");
        IntFunction<CompletableFuture<DeviceSession>> warm =
            i -> connect(uri, warmTokens.get(i), i);
        ServerProcess.Memory before = warmUpAndMeasure(server, warm);
        Map<String, long[]> histBefore = histogram ? server.histogram() : null;
        List<DeviceSession> held = open(server, i -> withStatus(connect(uri, tokens.get(i), i)));
        fresh = new Figures(before, server.measure(), held.size());
        presenceClasses = histogram ? growth(histBefore, server.histogram(), held.size()) : null;
        if (!noSteady) {
          long wait = expires + 10_000 - System.currentTimeMillis();
          if (wait > 0) {
            out.printf(
                Locale.ROOT,
                "waiting %d s for the tokens and cached grants to expire...%n",
                wait / 1000);
            out.flush();
            Thread.sleep(wait);
          }
          // Cache clean-up runs on cache activity, and an entry's expiry may be cascaded through
          // Caffeine's timer wheel over a minute: a few sessions (connect, status) every few
          // seconds for that long let every expired entry go.
          long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(nudgeSeconds);
          int k = 0;
          while (System.nanoTime() < until) {
            int base = warmup + (k++ % 4) * 5;
            List<DeviceSession> nudge =
                open(server, 5, i -> withStatus(connect(uri, warmTokens.get(base + i), i)));
            BenchSupport.abortAll(nudge);
            TimeUnit.SECONDS.sleep(3);
          }
          steady = new Figures(before, server.measure(), held.size());
          steadyClasses = histogram ? growth(histBefore, server.histogram(), held.size()) : null;
        }
        BenchSupport.abortAll(held);
      }

      int floorPort = ServerProcess.freePort();
      try (ServerProcess server =
          ServerProcess.start(
              "floor",
              trackingNative(BenchSupport.floorCommand(heap, floorPort, ioThreads)),
              floorPort,
              work.resolve("floor.log"),
              "/__floor__/stats",
              ServerProcess.FLOOR_DIRECT)) {
        URI uri = URI.create("ws://127.0.0.1:" + floorPort + "/hold");
        IntFunction<CompletableFuture<DeviceSession>> sock =
            i -> client.open(uri, from.get(i % from.size()));
        ServerProcess.Memory before = warmUpAndMeasure(server, sock);
        Map<String, long[]> histBefore = histogram ? server.histogram() : null;
        List<DeviceSession> held = open(server, sock);
        floor = new Figures(before, server.measure(), held.size());
        floorClasses = histogram ? growth(histBefore, server.histogram(), held.size()) : null;
        BenchSupport.abortAll(held);
      }

      int barePort = ServerProcess.freePort();
      try (ServerProcess server =
          ServerProcess.start(
              "bare",
              trackingNative(BenchSupport.bareCommand(heap, barePort, ioThreads)),
              barePort,
              work.resolve("bare.log"),
              "/metrics",
              ServerProcess.METRICS_DIRECT)) {
        URI uri = URI.create("ws://127.0.0.1:" + barePort + "/ws");
        IntFunction<CompletableFuture<DeviceSession>> sock =
            i -> client.open(uri, from.get(i % from.size()));
        ServerProcess.Memory before = warmUpAndMeasure(server, sock);
        List<DeviceSession> held = open(server, sock);
        bare = new Figures(before, server.measure(), held.size());
        BenchSupport.abortAll(held);
      }
    } finally {
      client.close();
    }

    out.printf(
        Locale.ROOT,
        "%n| per idle session (N = %,d) | Presence, fresh | Presence, steady | floor | textbook Netty WS |%n",
        sessions);
    out.printf(Locale.ROOT, "|---|---:|---:|---:|---:|%n");
    row(
        "heap after full GC",
        fresh.heap(),
        steady == null ? Double.NaN : steady.heap(),
        floor.heap(),
        bare.heap());
    row(
        "Netty direct memory",
        fresh.direct(),
        steady == null ? Double.NaN : steady.direct(),
        floor.direct(),
        bare.direct());
    row(
        "native memory (JVM tracking, per-connection categories)",
        fresh.nativeMemory(),
        steady == null ? Double.NaN : steady.nativeMemory(),
        floor.nativeMemory(),
        bare.nativeMemory());
    row(
        "heap plus native",
        fresh.heapAndNative(),
        steady == null ? Double.NaN : steady.heapAndNative(),
        floor.heapAndNative(),
        bare.heapAndNative());
    row(
        "process RSS",
        fresh.rss(),
        steady == null ? Double.NaN : steady.rss(),
        floor.rss(),
        bare.rss());
    out.printf(
        Locale.ROOT,
        "%nheap ratio, Presence to floor: fresh %.2f, steady %.2f; to textbook server: fresh %.2f,"
            + " steady %.2f%n",
        fresh.heap() / floor.heap(),
        steady == null ? Double.NaN : steady.heap() / floor.heap(),
        fresh.heap() / bare.heap(),
        steady == null ? Double.NaN : steady.heap() / bare.heap());
    out.printf(Locale.ROOT, "%nnative memory per session by tracked category (bytes):%n");
    Map<String, Double> fn = fresh.trackedGrowth();
    Map<String, Double> sn = steady == null ? Map.of() : steady.trackedGrowth();
    Map<String, Double> ln = floor.trackedGrowth();
    for (String k : fn.keySet()) {
      out.printf(
          Locale.ROOT,
          "  %-28s fresh %8.1f  steady %8.1f  floor %8.1f%n",
          k,
          fn.get(k),
          sn.getOrDefault(k, Double.NaN),
          ln.getOrDefault(k, Double.NaN));
    }
    out.printf(
        Locale.ROOT,
        "heap plus native ratio, Presence to floor: fresh %.2f, steady %.2f%n",
        fresh.heapAndNative() / floor.heapAndNative(),
        steady == null ? Double.NaN : steady.heapAndNative() / floor.heapAndNative());
    out.printf(
        Locale.ROOT,
        "Presence heap %,d B before, %,d B fresh%s; RSS %,d B before, %,d B fresh%n",
        fresh.before().heapBytes(),
        fresh.after().heapBytes(),
        steady == null
            ? ""
            : String.format(Locale.ROOT, ", %,d B steady", steady.after().heapBytes()),
        fresh.before().rssBytes(),
        fresh.after().rssBytes());
    if (histogram) {
      printComparison("fresh", presenceClasses, floorClasses);
      if (steadyClasses != null) {
        printComparison("steady", steadyClasses, floorClasses);
      }
    }
    out.flush();
  }

  private CompletableFuture<DeviceSession> connect(URI uri, String token, int i) {
    return client.connect(uri, from.get(i % from.size()), token);
  }

  /** The session, once it sent its one status (when {@code --status} asks for one). */
  private CompletableFuture<DeviceSession> withStatus(CompletableFuture<DeviceSession> connected) {
    if ("none".equals(status)) {
      return connected;
    }
    PresenceStatus st = PresenceStatus.fromWire(status);
    if (st == null) {
      throw new IllegalArgumentException("--status: " + status);
    }
    return connected.thenCompose(
        s ->
            s.status(st, null)
                .thenApply(
                    reply -> {
                      if (!reply.ok()) {
                        throw new IllegalStateException("status refused: " + reply);
                      }
                      return s;
                    }));
  }

  private ServerProcess.Memory warmUpAndMeasure(
      ServerProcess server, IntFunction<CompletableFuture<DeviceSession>> warm) throws Exception {
    Window.Result<DeviceSession> w = Window.run(warmup, window, warm);
    BenchSupport.abortAll(w.done());
    // Closed sessions leave after the node's grace period (1 s here).
    TimeUnit.SECONDS.sleep(3);
    return server.measure();
  }

  private List<DeviceSession> open(
      ServerProcess server, IntFunction<CompletableFuture<DeviceSession>> op) throws Exception {
    List<DeviceSession> held = open(server, sessions, op);
    out.printf(Locale.ROOT, "%s: idle for %d s%n", server.log().getFileName(), settle);
    out.flush();
    TimeUnit.SECONDS.sleep(settle);
    return held;
  }

  private List<DeviceSession> open(
      ServerProcess server, int n, IntFunction<CompletableFuture<DeviceSession>> op)
      throws Exception {
    Window.Result<DeviceSession> r = Window.run(n, window, op);
    if (r.failed() > 0) {
      BenchSupport.abortAll(r.done());
      throw new IllegalStateException(
          r.failed()
              + " sessions failed, first: "
              + r.firstFailure()
              + " (log: "
              + server.log()
              + ")");
    }
    if (n >= 100) {
      out.printf(
          Locale.ROOT,
          "%s: %,d sockets open in %.1f s%n",
          server.log().getFileName(),
          r.done().size(),
          r.elapsedNanos() / 1e9);
      out.flush();
    }
    return r.done();
  }

  private void row(String what, double fresh, double steady, double floor, double bare) {
    out.printf(
        Locale.ROOT,
        "| %s | %,.0f B (%.2f KiB) | %s | %,.0f B (%.2f KiB) | %,.0f B (%.2f KiB) |%n",
        what,
        fresh,
        fresh / 1024,
        Double.isNaN(steady)
            ? "-"
            : String.format(Locale.ROOT, "%,.0f B (%.2f KiB)", steady, steady / 1024),
        floor,
        floor / 1024,
        bare,
        bare / 1024);
  }

  private static Map<String, Double> growth(
      Map<String, long[]> before, Map<String, long[]> after, int n) {
    Map<String, Double> out = new HashMap<>();
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

  /** The classes whose live heap per session differs most between Presence and the floor. */
  private void printComparison(
      String when, Map<String, Double> presence, Map<String, Double> floor) {
    Set<String> classes = new HashSet<>(presence.keySet());
    classes.addAll(floor.keySet());
    out.printf(
        Locale.ROOT,
        "%n| class (live heap per session, bytes) | Presence, %s | floor | difference |%n"
            + "|---|---:|---:|---:|%n",
        when);
    classes.stream()
        .sorted(
            Comparator.comparingDouble(
                (String c) ->
                    -Math.abs(presence.getOrDefault(c, 0.0) - floor.getOrDefault(c, 0.0))))
        .limit(40)
        .forEach(
            c ->
                out.printf(
                    Locale.ROOT,
                    "| %s | %.0f | %.0f | %+.0f |%n",
                    c,
                    presence.getOrDefault(c, 0.0),
                    floor.getOrDefault(c, 0.0),
                    presence.getOrDefault(c, 0.0) - floor.getOrDefault(c, 0.0)));
  }
}
