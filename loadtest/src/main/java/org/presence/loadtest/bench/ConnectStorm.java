package org.presence.loadtest.bench;

import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.presence.loadtest.presence.DeviceSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Connect storm (issue 3): how many authenticated device sessions per second one node opens, each a
 * new TCP connection, WebSocket handshake, connect request with its own RS256 token (so every one
 * is a signature check, none a cache hit), device claim and answer. The client runs in this process
 * on the same machine, keeping a window of connects in flight; each round opens its sessions, is
 * timed from the first connect to the last answer, then resets them all.
 *
 * <p>On a machine other processes keep busy, the wall-clock rate says more about them than about
 * the node. Each round therefore also reports the CPU time the node and this client spent per
 * session, and the rate those costs allow on two otherwise idle cores shared by client and node:
 * {@code 2 s / (node CPU + client CPU per session)}.
 */
@Command(
    name = "connect-storm",
    mixinStandardHelpOptions = true,
    description = "Authenticated device sessions opened per second by one node.")
public final class ConnectStorm implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--sessions", defaultValue = "10000", description = "Sessions per round.")
  int sessions;

  @Option(names = "--rounds", defaultValue = "5", description = "Timed rounds.")
  int rounds;

  @Option(names = "--server-jar", required = true, description = "The node's jar (presence.jar).")
  Path serverJar;

  @Option(names = "--heap", defaultValue = "1g", description = "-Xms/-Xmx of the node.")
  String heap;

  @Option(names = "--io-threads", defaultValue = "4", description = "Event loops of the node.")
  int ioThreads;

  @Option(
      names = "--client-threads",
      defaultValue = "2",
      description = "Event loops of the client.")
  int clientThreads;

  @Option(names = "--window", defaultValue = "256", description = "Connects in flight at once.")
  int window;

  @Option(
      names = "--warmup-rounds",
      defaultValue = "2",
      description = "Untimed rounds first, so that the node's JIT has compiled the connect path.")
  int warmupRounds;

  @Option(
      names = "--server-jvm-opt",
      description = "Extra JVM option for the node (repeatable), e.g. to record a profile.")
  List<String> serverJvmOptions = new ArrayList<>();

  @Option(
      names = "--sources",
      split = ",",
      defaultValue = "127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4",
      description = "Source addresses for the client sockets.")
  List<String> sources;

  public static void main(String[] args) {
    System.exit(new CommandLine(new ConnectStorm()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    BenchSupport.head(
        out,
        "Connect storm",
        "bin/device-bench connect-storm --sessions " + sessions + " --rounds " + rounds);
    Path work = Files.createTempDirectory("connect-storm");
    try {
      return run(out, work);
    } finally {
      BenchSupport.deleteTree(work);
    }
  }

  private int run(PrintWriter out, Path work) throws Exception {
    BenchKeys keys = BenchKeys.generate();
    Path jwks = work.resolve("jwks.json");
    keys.writeJwks(jwks);
    int total = (warmupRounds + rounds) * sessions;
    out.printf(Locale.ROOT, "minting %,d tokens...%n", total);
    out.flush();
    List<String> tokens = keys.mintMany(total, "storm");
    List<InetSocketAddress> from = BenchSupport.sources(sources);
    int port = ServerProcess.freePort();
    int adminPort = ServerProcess.freePortOtherThan(port);
    List<Double> rates = new ArrayList<>();
    List<Double> idleRates = new ArrayList<>();
    java.lang.management.OperatingSystemMXBean os =
        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    try (BenchClient client = new BenchClient(clientThreads);
        ServerProcess server =
            ServerProcess.start(
                "presence",
                BenchSupport.withJvmOptions(
                    BenchSupport.presenceCommand(
                        serverJar,
                        heap,
                        port,
                        work.resolve("data"),
                        jwks,
                        ioThreads,
                        "admin.port=" + adminPort),
                    serverJvmOptions),
                port,
                work.resolve("presence.log"),
                "http://127.0.0.1:" + adminPort + "/metrics",
                ServerProcess.METRICS_DIRECT)) {
      URI uri = URI.create("ws://127.0.0.1:" + port + "/presence");
      int[] offset = {0};
      for (int round = 1 - warmupRounds; round <= rounds; round++) {
        int n = sessions;
        int base = offset[0];
        long serverCpu0 = server.cpuNanos();
        long clientCpu0 = ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime();
        Window.Result<DeviceSession> r =
            Window.run(
                n,
                window,
                i -> client.connect(uri, from.get((base + i) % from.size()), tokens.get(base + i)));
        offset[0] += n;
        double serverUs = (server.cpuNanos() - serverCpu0) / 1e3 / Math.max(1, r.done().size());
        double clientUs =
            (((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime() - clientCpu0)
                / 1e3
                / Math.max(1, r.done().size());
        double idleRate = 2e6 / (serverUs + clientUs);
        double rate = r.done().size() / (r.elapsedNanos() / 1e9);
        if (round <= 0) {
          out.printf(
              Locale.ROOT,
              "warm-up: %,d sessions, %,.0f/s (%d failed)%n",
              r.done().size(),
              rate,
              r.failed());
        } else {
          rates.add(rate);
          idleRates.add(idleRate);
          out.printf(
              Locale.ROOT,
              "round %d: %,d sessions in %.2f s = %,.0f sessions/s (%d failed%s); CPU per session:"
                  + " node %.0f us, client %.0f us -> %,.0f sessions/s on 2 idle cores%n",
              round,
              r.done().size(),
              r.elapsedNanos() / 1e9,
              rate,
              r.failed(),
              r.failed() > 0 ? ", first: " + r.firstFailure() : "",
              serverUs,
              clientUs,
              idleRate);
        }
        out.flush();
        BenchSupport.abortAll(r.done());
        // Let the node release the devices (1 s grace) and settle before the next round.
        TimeUnit.SECONDS.sleep(3);
      }
    }
    List<Double> sorted = new ArrayList<>(rates);
    Collections.sort(sorted);
    List<Double> idle = new ArrayList<>(idleRates);
    Collections.sort(idle);
    out.printf(
        Locale.ROOT,
        "%nwall clock: median %,.0f sessions/s, best %,.0f sessions/s over %d rounds of %,d%n",
        sorted.get(sorted.size() / 2),
        sorted.get(sorted.size() - 1),
        rounds,
        sessions);
    out.printf(
        Locale.ROOT,
        "from CPU time, on 2 idle cores: median %,.0f sessions/s, best %,.0f sessions/s%n",
        idle.get(idle.size() / 2),
        idle.get(idle.size() - 1));
    out.flush();
    return 0;
  }
}
