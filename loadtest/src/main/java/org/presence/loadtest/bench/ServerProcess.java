package org.presence.loadtest.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A server under measurement, in its own JVM: started from a command line, measured from the
 * outside ({@code jcmd} for a full GC and the heap, {@code /proc} for RSS, its {@code /metrics}
 * line {@code jvm_netty_direct_used} for Netty's direct memory), stopped at the end.
 */
final class ServerProcess implements AutoCloseable {
  private static final Pattern HEAP_USED = Pattern.compile("used (\\d+)K");

  /** The {@code /metrics} line of the Presence node and of {@link BareWsServer}. */
  static final Pattern METRICS_DIRECT =
      Pattern.compile("(?m)^jvm_netty_direct_used(?:\\{[^}]*\\})? ([0-9.eE+-]+)");

  /** The field of the floor's {@code /__floor__/stats}. */
  static final Pattern FLOOR_DIRECT = Pattern.compile("\"direct_used\":([0-9]+)");

  /** The JVM option that has a server track its native memory ({@link Memory#nativeBytes}). */
  static final String TRACK_NATIVE = "-XX:NativeMemoryTracking=summary";

  /**
   * A category of {@code VM.native_memory summary}: "Total: reserved=..." or "- Name
   * (reserved=...".
   */
  private static final Pattern NMT_CATEGORY =
      Pattern.compile(
          "(?m)^(?:-\\s*)?([A-Z][\\w ]*?):? \\(?reserved=\\d+(?:KB)?, committed=(\\d+)(KB)?");

  /**
   * Memory of the process at one moment. {@code tracked}: the committed bytes of every category of
   * the JVM's native memory tracking ("Total" among them); empty when the server was not started
   * with {@link #TRACK_NATIVE}.
   */
  record Memory(long heapBytes, long directBytes, long rssBytes, Map<String, Long> tracked) {
    /**
     * The tracked categories that hold memory per connection ({@link #PER_CONNECTION}), summed; -1
     * when nothing was tracked.
     */
    long nativeBytes() {
      if (!tracked.containsKey("Total")) {
        return -1;
      }
      long n = 0;
      for (String k : PER_CONNECTION) {
        n += tracked.getOrDefault(k, 0L);
      }
      return n;
    }
  }

  private final String name;
  private final Process process;
  private final int port;
  private final Path log;
  private final String directPath;
  private final Pattern directPattern;
  private final boolean tracksNative;

  private ServerProcess(
      String name,
      Process process,
      int port,
      Path log,
      String directPath,
      Pattern directPattern,
      boolean tracksNative) {
    this.name = name;
    this.tracksNative = tracksNative;
    this.process = process;
    this.port = port;
    this.log = log;
    this.directPath = directPath;
    this.directPattern = directPattern;
  }

  /** The java launcher of this JVM, to start servers with the same JDK. */
  static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static String jcmd() {
    Path p = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    return Files.exists(p) ? p.toString() : "jcmd";
  }

  /**
   * Starts {@code command}, logging to {@code log}, and waits until {@code port} accepts. Netty's
   * direct memory is read from {@code directPath} on that port (or at {@code directPath} itself
   * when it is a whole URL: a Presence node's admin port) with {@code directPattern}.
   */
  static ServerProcess start(
      String name,
      List<String> command,
      int port,
      Path log,
      String directPath,
      Pattern directPattern)
      throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    ServerProcess s =
        new ServerProcess(
            name, p, port, log, directPath, directPattern, command.contains(TRACK_NATIVE));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        throw new IOException(name + " exited: see " + log);
      }
      try (Socket probe = new Socket()) {
        probe.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return s;
      } catch (IOException e) {
        Thread.sleep(100);
      }
    }
    s.close();
    throw new IOException(name + " did not listen on " + port + " in time: see " + log);
  }

  long pid() {
    return process.pid();
  }

  int port() {
    return port;
  }

  /** Full GCs (twice, through jcmd), then heap in use, Netty direct memory and RSS. */
  Memory measure() throws IOException, InterruptedException {
    for (int i = 0; i < 2; i++) {
      run(List.of(jcmd(), Long.toString(pid()), "GC.run"));
    }
    String info = run(List.of(jcmd(), Long.toString(pid()), "GC.heap_info"));
    Matcher m = HEAP_USED.matcher(info);
    if (!m.find()) {
      throw new IOException("cannot read heap of " + name + ": " + info);
    }
    long heap = Long.parseLong(m.group(1)) * 1024;
    return new Memory(heap, direct(), rss(), tracksNative ? tracked() : Map.of());
  }

  /**
   * Committed bytes per category of {@code jcmd VM.native_memory summary} ("Total" among them), or
   * nothing when the JVM does not track its native memory.
   */
  private Map<String, Long> tracked() throws IOException, InterruptedException {
    String nmt =
        run(List.of(jcmd(), Long.toString(pid()), "VM.native_memory", "summary", "scale=KB"));
    Map<String, Long> out = new TreeMap<>();
    Matcher m = NMT_CATEGORY.matcher(nmt);
    while (m.find()) {
      out.put(m.group(1).strip(), Long.parseLong(m.group(2)) * (m.group(3) != null ? 1024 : 1));
    }
    return out;
  }

  /**
   * The tracked categories that hold memory per connection: Netty's buffers outside the heap
   * ("Other": {@code Unsafe.allocateMemory}), the collector's structures that grow with the live
   * heap ("GC"), the JVM's internal and monitor memory. The rest (compiled code, metaspace,
   * classes, symbols, the compiler's arenas, thread stacks, the tracking itself) grows with what
   * the JIT compiles and the classes loaded while the sessions open, not with the sessions: in an
   * idle-density run the code cache alone grew by 2 to 9 MB.
   */
  static final Set<String> PER_CONNECTION =
      Set.of("Other", "GC", "Internal", "Synchronization", "Object Monitors");

  /** Live instances and bytes per class ({@code jcmd GC.class_histogram}, which runs a full GC). */
  java.util.Map<String, long[]> histogram() throws IOException, InterruptedException {
    String text = run(List.of(jcmd(), Long.toString(pid()), "GC.class_histogram"));
    java.util.Map<String, long[]> out = new java.util.HashMap<>();
    Pattern row = Pattern.compile("^\\s*\\d+:\\s+(\\d+)\\s+(\\d+)\\s+(\\S+)");
    for (String line : text.split("\n")) {
      Matcher m = row.matcher(line);
      if (m.find()) {
        out.put(m.group(3), new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))});
      }
    }
    return out;
  }

  private long direct() throws IOException, InterruptedException {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create(
                            directPath.startsWith("http")
                                ? directPath
                                : "http://127.0.0.1:" + port + directPath))
                    .timeout(Duration.ofSeconds(10))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    Matcher m = directPattern.matcher(r.body());
    if (!m.find()) {
      throw new IOException(name + " reports no direct memory at " + directPath);
    }
    return (long) Double.parseDouble(m.group(1));
  }

  /** CPU time the process has used so far (user + system), in nanoseconds. */
  long cpuNanos() throws IOException {
    String stat = Files.readString(Path.of("/proc/" + pid() + "/stat"));
    // Fields after the command name, which is in parentheses and may hold spaces.
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
    return ticks * (1_000_000_000L / CLOCK_TICKS);
  }

  /** Kernel clock ticks per second ({@code getconf CLK_TCK}; 100 on Linux). */
  private static final long CLOCK_TICKS = 100;

  private long rss() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid() + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    throw new IOException("no VmRSS for " + pid());
  }

  private static String run(List<String> command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(
          String.join(" ", command) + " failed: " + new String(out, StandardCharsets.UTF_8));
    }
    return new String(out, StandardCharsets.UTF_8);
  }

  /** The server's log so far. */
  Path log() {
    return log;
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(20, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** A free TCP port on the loopback interface. */
  static int freePort() throws IOException {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** A free port that is not {@code taken} (a node's admin port beside its gateway port). */
  static int freePortOtherThan(int taken) throws IOException {
    for (int i = 0; i < 10; i++) {
      int p = freePort();
      if (p != taken) {
        return p;
      }
    }
    throw new IOException("no free port other than " + taken);
  }

  /** The JVM options both servers of a comparison get. */
  static List<String> jvmOptions(String heap) {
    List<String> o = new ArrayList<>();
    o.add("-Xms" + heap);
    o.add("-Xmx" + heap);
    o.add("-XX:+UseG1GC");
    // The whole heap is touched at start, so RSS growth shows native memory, not which heap
    // pages the collector happened to use.
    o.add("-XX:+AlwaysPreTouch");
    o.add("-Dio.netty.leakDetection.level=disabled");
    return o;
  }
}
