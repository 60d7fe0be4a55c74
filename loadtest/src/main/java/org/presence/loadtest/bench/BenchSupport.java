package org.presence.loadtest.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.presence.loadtest.presence.DeviceSession;

/** What the device benchmarks share: the server command line, source addresses, the report head. */
final class BenchSupport {
  private BenchSupport() {}

  /**
   * {@code command} (a server's, starting with the java launcher) with {@code options} after it.
   */
  static List<String> withJvmOptions(List<String> command, List<String> options) {
    List<String> c = new ArrayList<>(command);
    c.addAll(1, options);
    return c;
  }

  /** The command that starts a Presence node from its jar for a benchmark. */
  static List<String> presenceCommand(
      Path jar, String heap, int port, Path dataDir, Path jwks, int ioThreads, String... more) {
    List<String> c = new ArrayList<>();
    c.add(ServerProcess.java());
    c.addAll(ServerProcess.jvmOptions(heap));
    c.add("-jar");
    c.add(jar.toString());
    c.add("serve");
    for (String s :
        List.of(
            "gateway.port=" + port,
            "gateway.io-threads=" + ioThreads,
            "data-dir=" + dataDir,
            "identity.dev-signing=false",
            "identity.jwks-file=" + jwks,
            // Every session of a run comes from the loopback addresses.
            "device.handshake-rate=0",
            "device.offline-grace=1s",
            // No XMPP listener: its fixed default ports would clash with other nodes running.
            "xmpp.port=off",
            "xmpp.tls-port=off",
            "logging.level=WARN")) {
      c.add("--set");
      c.add(s);
    }
    for (String s : more) {
      c.add("--set");
      c.add(s);
    }
    return c;
  }

  /** The command that starts the load harness's floor server from this JVM's class path. */
  static List<String> floorCommand(String heap, int port, int ioThreads) {
    List<String> c = new ArrayList<>();
    c.add(ServerProcess.java());
    c.addAll(ServerProcess.jvmOptions(heap));
    c.add("-cp");
    c.add(System.getProperty("java.class.path"));
    c.add("org.presence.loadtest.LoadTestMain");
    c.add("floor");
    c.add("--port");
    c.add(Integer.toString(port));
    c.add("--io-threads");
    c.add(Integer.toString(ioThreads));
    return c;
  }

  /** The command that starts the bare Netty WebSocket server from this JVM's class path. */
  static List<String> bareCommand(String heap, int port, int ioThreads) {
    List<String> c = new ArrayList<>();
    c.add(ServerProcess.java());
    c.addAll(ServerProcess.jvmOptions(heap));
    c.add("-cp");
    c.add(System.getProperty("java.class.path"));
    c.add(BareWsServer.class.getName());
    c.add(Integer.toString(port));
    c.add(Integer.toString(ioThreads));
    return c;
  }

  /** Source addresses (port 0: any) from a list like {@code 127.0.0.1,127.0.0.2}. */
  static List<InetSocketAddress> sources(List<String> hosts) {
    List<InetSocketAddress> out = new ArrayList<>();
    for (String h : hosts) {
      out.add(new InetSocketAddress(h.trim(), 0));
    }
    return out;
  }

  /** Closes every session with a reset. */
  static void abortAll(List<DeviceSession> sessions) {
    for (DeviceSession s : sessions) {
      s.abort();
    }
    for (DeviceSession s : sessions) {
      s.closedFuture().toCompletableFuture().join();
    }
  }

  /** Deletes {@code root} and everything under it. */
  static void deleteTree(Path root) throws IOException {
    try (java.util.stream.Stream<Path> paths = java.nio.file.Files.walk(root)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        java.nio.file.Files.deleteIfExists(p);
      }
    }
  }

  /** The lines every report starts with: date, machine, JDK. */
  static void head(PrintWriter out, String title, String command) throws IOException {
    out.printf(Locale.ROOT, "## %s%n%n", title);
    out.printf(Locale.ROOT, "command: %s%n", command);
    out.printf(Locale.ROOT, "date: %s%n", java.time.ZonedDateTime.now().withNano(0));
    out.printf(
        Locale.ROOT,
        "machine: %d cores, %s; load average before the run %.2f%n",
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("os.name") + " " + System.getProperty("os.arch"),
        java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    out.printf(
        Locale.ROOT,
        "JDK: %s %s%n%n",
        System.getProperty("java.vm.name"),
        System.getProperty("java.runtime.version"));
    out.flush();
  }
}
