package org.presence.loadtest.engine;

import io.netty.channel.EventLoopGroup;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.presence.loadtest.identity.TokenMinter;
import org.presence.loadtest.metrics.Clock;
import org.presence.loadtest.metrics.IntervalSample;
import org.presence.loadtest.metrics.Metrics;
import org.presence.loadtest.metrics.SampleCodec;
import org.presence.loadtest.metrics.Sampler;
import org.presence.loadtest.metrics.Timeline;
import org.presence.loadtest.presence.PresenceProbe;
import org.presence.loadtest.probe.ServerMemory;
import org.presence.loadtest.report.Assertion;
import org.presence.loadtest.report.ConsoleReporter;
import org.presence.loadtest.report.LatencyStats;
import org.presence.loadtest.report.ProbeResult;
import org.presence.loadtest.report.Summary;
import org.presence.loadtest.scenario.Action;
import org.presence.loadtest.scenario.Simulation;
import org.presence.loadtest.targets.Target;
import org.presence.loadtest.transport.SourceAddresses;
import org.presence.loadtest.transport.Transport;

/**
 * A run as the load engineer starts it ({@code loadtest run}): starts a floor if it has to, checks
 * the target offers what the scenario needs, injects from this process or from injector processes
 * whose samples it merges, prints the console line, reads the server's memory, and writes {@code
 * samples.jsonl}, {@code summary.json} and {@code index.html} into the output folder. The exit
 * status: 0 when every assertion held, 1 when one failed, 2 for a usage problem, 3 when the run
 * itself failed.
 *
 * <p>SIGINT or SIGTERM stops a run early: a shutdown hook ends the users (in this process, and in
 * the injector processes by closing their standard input), waits for the report of what was
 * measured so far, marked as stopped early, and stops the floor; the exit status is then the JVM's
 * for the signal (130, 143).
 */
public final class LoadRun {
  /** Every assertion held. */
  public static final int OK = 0;

  /** An assertion failed. */
  public static final int ASSERTION_FAILED = 1;

  /** The command line or the plan is wrong. */
  public static final int USAGE = 2;

  /** The run could not be carried out (target down, injector died). */
  public static final int RUN_FAILED = 3;

  private final LoadConfig config;
  private final PrintWriter out;
  private final PrintWriter err;
  private final String commandLine;
  private final List<ChildProcess> children = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final CountDownLatch finished = new CountDownLatch(1);
  private volatile boolean stoppedEarly;
  private volatile Runner runner;
  private volatile ChildProcess floorChild;

  /** A run of {@code config}, reporting to {@code out} and {@code err}. */
  public LoadRun(LoadConfig config, PrintWriter out, PrintWriter err, String commandLine) {
    this.config = config;
    this.out = out;
    this.err = err;
    this.commandLine = commandLine;
  }

  /** Runs and returns the exit status. */
  public int run() throws IOException, InterruptedException {
    Simulation sim;
    List<Assertion> assertions = new ArrayList<>();
    try {
      sim = Plan.simulation(config);
      for (String a : sim.assertions()) {
        assertions.add(Assertion.parse(a));
      }
      for (String a : config.assertions()) {
        assertions.add(Assertion.parse(a));
      }
    } catch (IllegalArgumentException e) {
      err.println("loadtest: " + e.getMessage());
      return USAGE;
    }
    Path dir = Path.of(config.out());
    Files.createDirectories(dir);
    ChildProcess floor = null;
    LoadConfig c = config;
    Thread hook = new Thread(this::stopEarly, "lt-stop");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      if (c.appsUrl() != null && !c.target().equals("presence")) {
        err.println("loadtest: --apps-url is for target presence only");
        return USAGE;
      }
      if (c.appTransport() != null
          && !(c.appTransport().equals("ws")
              || (c.appTransport().equals("stream") && c.target().equals("presence")))) {
        err.println(
            "loadtest: --app-transport is ws or stream, and stream is for target presence only");
        return USAGE;
      }
      if (c.url() == null) {
        if (!c.target().startsWith("floor")) {
          err.println("loadtest: --url is required for target " + c.target());
          return USAGE;
        }
        floor =
            FloorProcess.start(c.floorJvmOptions(), c.floorTransport(), dir.resolve("floor.log"));
        floorChild = floor;
        FloorProcess.Listening listening = FloorProcess.listening(floor);
        c = c.withUrl(listening.url());
        out.println(
            "floor started: "
                + c.url()
                + " (pid "
                + floor.pid()
                + (listening.transport() == null ? "" : ", " + listening.transport())
                + ")");
      }
      c.write(dir.resolve("plan.json"));
      out.println("harness transport: " + c.harnessTransport().wireName());
      return run(c, sim, assertions, dir, floor);
    } catch (IllegalArgumentException e) {
      err.println("loadtest: " + e.getMessage());
      return USAGE;
    } finally {
      if (floor != null) {
        floor.close();
      }
      out.flush();
      err.flush();
      finished.countDown();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // Shutting down: the hook is running.
      }
    }
  }

  /**
   * The shutdown hook: on SIGINT or SIGTERM, ends the load, lets the run write its report of what
   * was measured, then makes sure no process of the run is left.
   */
  private void stopEarly() {
    if (finished.getCount() == 0) {
      return;
    }
    stoppedEarly = true;
    err.println("loadtest: stopped by a signal: ending the load, then writing the partial report");
    err.flush();
    Runner r = runner;
    if (r != null) {
      r.stop();
    }
    children.forEach(ChildProcess::closeInput);
    try {
      finished.await(Runner.STOP_GRACE.toSeconds() + 20, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    children.forEach(ChildProcess::close);
    ChildProcess f = floorChild;
    if (f != null) {
      f.close();
    }
  }

  private int run(
      LoadConfig c, Simulation sim, List<Assertion> assertions, Path dir, ChildProcess floor)
      throws IOException, InterruptedException {
    SourceAddresses sources = SourceAddresses.parse(c.sourceAddresses());
    Long probePid =
        c.serverPid() != null ? c.serverPid() : floor != null ? Long.valueOf(floor.pid()) : null;
    Target probeTarget = Plan.target(c, sources);
    Set<Action.Channel> missing = Plan.missing(sim, probeTarget);
    if (!missing.isEmpty()) {
      err.println(
          "loadtest: scenario "
              + sim.name()
              + " needs "
              + missing
              + ", which target "
              + probeTarget.name()
              + " does not offer in this build");
      return USAGE;
    }
    try {
      probeTarget.prepare(
          Plan.apps(sim), sim.deviceUsers(), Plan.minter(c, sim, probeTarget), dir, out);
    } catch (IOException e) {
      err.println("loadtest: cannot prepare " + probeTarget.name() + ": " + e.getMessage());
      return RUN_FAILED;
    }
    String sockets = socketWarning(sim.users() / c.sliceCount(), c.processes(), openFilesLimit());
    if (sockets != null) {
      err.println("loadtest: " + sockets);
      err.flush();
    }
    Optional<ServerMemory> baseline =
        sim.probeAt().isPresent() ? probeTarget.probe().measure(true) : Optional.empty();
    if (sim.probeAt().isPresent() && baseline.isEmpty()) {
      String where =
          probeTarget.probe() instanceof PresenceProbe p
              ? p.metricsUrl() + " (--metrics-url)"
              : c.url();
      err.println(
          "loadtest: cannot read the server's memory at "
              + where
              + "; per-connection figures will be missing");
    }
    Timeline timeline = new Timeline();
    String started = Instant.now().toString();
    out.printf(
        java.util.Locale.ROOT,
        "%s against %s %s%s: %d users, %d process(es), report in %s%n",
        sim.name(),
        probeTarget.name(),
        c.url(),
        c.appsUrl() == null ? "" : " (apps at " + c.appsUrl() + ")",
        sim.users(),
        c.processes(),
        dir);
    out.flush();
    AtomicReference<ProbeResult> probe = new AtomicReference<>();
    ScheduledExecutorService timers =
        Executors.newScheduledThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "lt-coordinator");
              t.setDaemon(true);
              return t;
            });
    boolean completed;
    try (BufferedWriter samples =
        Files.newBufferedWriter(dir.resolve("samples.jsonl"), StandardCharsets.UTF_8)) {
      SampleSink sink = new SampleSink(timeline, samples);
      ConsoleReporter console = new ConsoleReporter(out);
      long[] startAt = new long[1];
      Runnable scheduleTimers =
          () -> {
            int every = Math.max(1, c.consoleEvery());
            timers.scheduleAtFixedRate(
                () ->
                    console.print(
                        timeline, every, Math.max(0, (Clock.millis() - startAt[0]) / 1000)),
                every,
                every,
                TimeUnit.SECONDS);
            sim.probeAt()
                .ifPresent(
                    at ->
                        timers.schedule(
                            () -> {
                              Optional<ServerMemory> loaded = probeTarget.probe().measure(true);
                              if (baseline.isPresent() && loaded.isPresent()) {
                                Timeline.Totals last = timeline.lastSeconds(1);
                                probe.set(
                                    ProbeResult.of(
                                        baseline.get(), loaded.get(), last.lastActive()));
                              }
                            },
                            Math.max(0, startAt[0] + at.toMillis() - Clock.millis()),
                            TimeUnit.MILLISECONDS));
          };
      completed =
          c.processes() <= 1
              ? runHere(c, sim, sink, startAt, scheduleTimers)
              : runInjectors(c, dir, sink, startAt, scheduleTimers);
    } finally {
      timers.shutdownNow();
      timers.awaitTermination(90, TimeUnit.SECONDS);
      probeTarget.close();
    }
    Summary.RunInfo info =
        new Summary.RunInfo(
            sim.name(),
            probeTarget.name(),
            c.url(),
            started,
            c.processes(),
            commandLine,
            machine(),
            jdk(),
            stoppedEarly ? STOPPED_BY_SIGNAL : null,
            c.sliceCount() > 1 ? c.sliceIndex() + "/" + c.sliceCount() : null);
    Summary summary = Summary.of(info, timeline, probe.get());
    List<Assertion.Result> results = assertions.stream().map(a -> a.check(summary)).toList();
    Summary done = summary.withAssertions(results);
    Reports.write(dir, done, timeline);
    Reports.printFinal(out, done, dir, probePid);
    if (stoppedEarly) {
      return RUN_FAILED;
    }
    if (!completed) {
      err.println("loadtest: the run did not complete (see the injector logs in " + dir + ")");
      return RUN_FAILED;
    }
    String nothing = nothingSucceeded(done);
    if (nothing != null) {
      err.println("loadtest: " + nothing);
      return RUN_FAILED;
    }
    return done.passed() ? OK : ASSERTION_FAILED;
  }

  /**
   * Why the run counts as failed though it ran (exit 3), or null: it had errors and not one
   * operation succeeded (no session opened, no request acknowledged or answered): every connect
   * refused, every assertion refused, a wrong or dead URL. Names the main error kind.
   */
  static String nothingSucceeded(Summary s) {
    long errors = s.errors().values().stream().mapToLong(Long::longValue).sum();
    long succeeded = s.counters().getOrDefault(Metrics.OPENED, 0L);
    for (String m : List.of(Metrics.ACK, Metrics.POST, Metrics.UPDATE, Metrics.NOTIFY)) {
      LatencyStats l = s.latencies().get(m);
      succeeded += l == null ? 0 : l.count();
    }
    if (errors == 0 || succeeded > 0) {
      return null;
    }
    Map.Entry<String, Long> main =
        s.errors().entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow();
    return "nothing succeeded: no session opened and no request answered; "
        + errors
        + " error(s), mostly "
        + main.getKey()
        + " ("
        + main.getValue()
        + ")";
  }

  /**
   * Sockets the JVM keeps for itself (class path jars, pipes, epoll) below the open-files limit.
   */
  static final long RESERVED_FILES = 1000;

  /**
   * A warning when the run's users, spread over {@code processes} injectors, are more sockets per
   * process than the open-files limit {@code openFiles} lets one process hold (the limit less
   * {@link #RESERVED_FILES}); null when they fit or the limit is unknown ({@code openFiles <= 0}).
   */
  static String socketWarning(long users, int processes, long openFiles) {
    if (openFiles <= 0) {
      return null;
    }
    long perProcess = (users + processes - 1) / processes;
    long room = Math.max(1, openFiles - RESERVED_FILES);
    if (perProcess <= room) {
      return null;
    }
    long needed = (users + room - 1) / room;
    return "warning: "
        + users
        + " users over "
        + processes
        + " process(es) are up to "
        + perProcess
        + " sockets per process, more than its open-files limit ("
        + openFiles
        + ", ulimit -n) lets it hold (about "
        + room
        + "); users beyond that fail with too-many-open-files. Use -p "
        + needed
        + " or more (and --source-addresses past about 28,000 sockets per address).";
  }

  /** This process's open-files limit, or -1 when the JVM cannot say. */
  static long openFilesLimit() {
    java.lang.management.OperatingSystemMXBean os =
        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    return os instanceof com.sun.management.UnixOperatingSystemMXBean unix
        ? unix.getMaxFileDescriptorCount()
        : -1;
  }

  private boolean runHere(
      LoadConfig c, Simulation sim, SampleSink sink, long[] startAt, Runnable scheduleTimers)
      throws IOException, InterruptedException {
    int slot = c.sliceIndex();
    int count = c.sliceCount();
    EventLoopGroup loops = Plan.loops(c);
    try (Target target = Plan.target(c, SourceAddresses.parse(c.sourceAddresses()))) {
      TokenMinter minter = Plan.minter(c, sim, target);
      Tokens tokens =
          minter == null ? Tokens.none() : Tokens.mint(minter, sim, slot, count, this::say);
      Metrics metrics = new Metrics();
      Runner here = new Runner(sim, target, metrics, loops, tokens, slot, count);
      runner = here;
      if (stoppedEarly) {
        here.stop();
      }
      startAt[0] = Clock.millis() + 200;
      scheduleTimers.run();
      try (Sampler sampler = new Sampler(metrics, slot, sink::accept)) {
        here.run(startAt[0]);
      }
      return true;
    } finally {
      Transport.shutDown(loops, Duration.ofSeconds(2)).awaitUninterruptibly(5_000);
    }
  }

  private boolean runInjectors(
      LoadConfig c, Path dir, SampleSink sink, long[] startAt, Runnable scheduleTimers)
      throws IOException, InterruptedException {
    CountDownLatch ready = new CountDownLatch(c.processes());
    PhaseBarrier phases = new PhaseBarrier(c.processes());
    boolean ok = true;
    try {
      for (int i = 0; i < c.processes(); i++) {
        int index = i;
        List<String> args =
            List.of(
                "inject",
                "--plan",
                dir.resolve("plan.json").toString(),
                "--injector",
                Integer.toString(i));
        children.add(
            ChildProcess.start(
                "injector-" + i,
                c.injectorJvmOptions(),
                args,
                dir.resolve("injector-" + i + ".log"),
                line -> {
                  if (line.startsWith(Tokens.PROGRESS)) {
                    say("injector " + index + ": " + line);
                  } else if (line.equals(Injector.READY)) {
                    ready.countDown();
                  } else if (SampleCodec.isSample(line)) {
                    sink.accept(line);
                  } else if (line.startsWith(Injector.REACHED)) {
                    Runner.Phase p = Runner.Phase.of(line.substring(Injector.REACHED.length()));
                    if (p != null) {
                      phases.reached(index, p);
                    }
                  }
                },
                // An injector that ended waits for nothing: the others need not wait for it.
                () -> {
                  for (Runner.Phase p : Runner.Phase.values()) {
                    phases.reached(index, p);
                  }
                }));
        if (stoppedEarly) {
          children.forEach(ChildProcess::closeInput);
        }
      }
      long readyBy = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
      while (!ready.await(200, TimeUnit.MILLISECONDS)) {
        if (stoppedEarly) {
          return false;
        }
        if (System.nanoTime() > readyBy) {
          err.println("loadtest: injectors not ready within 5 minutes");
          return false;
        }
      }
      startAt[0] = Clock.millis() + 500;
      for (ChildProcess child : children) {
        child.send(Injector.START + startAt[0]);
      }
      phases.tell(children);
      scheduleTimers.run();
      long limit = Plan.simulation(c).maxDuration().plus(Runner.STOP_GRACE).toMillis() + 60_000;
      for (int i = 0; i < children.size(); i++) {
        int status = children.get(i).waitFor(limit);
        if (status != 0 && !stoppedEarly) {
          err.println(
              "loadtest: injector "
                  + i
                  + " ended with status "
                  + status
                  + " (see injector-"
                  + i
                  + ".log)");
          ok = false;
        }
      }
      return ok;
    } finally {
      children.forEach(ChildProcess::close);
    }
  }

  /** A line on the console, from any thread. */
  private void say(String line) {
    synchronized (out) {
      out.println(line);
      out.flush();
    }
  }

  /** What {@code summary.json} says of a run that a signal stopped before its planned end. */
  public static final String STOPPED_BY_SIGNAL = "stopped early by a signal (SIGINT or SIGTERM)";

  /**
   * The run's phases over its injector processes: once every injector said it reached a phase
   * ({@code reached <phase>}), each is told {@code everyone <phase>}, once.
   */
  private static final class PhaseBarrier {
    private final int processes;
    private final Map<Runner.Phase, Set<Integer>> reached = new EnumMap<>(Runner.Phase.class);
    private final Set<Runner.Phase> told = EnumSet.noneOf(Runner.Phase.class);
    private List<ChildProcess> children;

    PhaseBarrier(int processes) {
      this.processes = processes;
    }

    /** Injector {@code index} reached {@code phase} (or ended). */
    void reached(int index, Runner.Phase phase) {
      List<ChildProcess> to;
      synchronized (this) {
        reached.computeIfAbsent(phase, p -> new HashSet<>()).add(index);
        to = due(phase);
      }
      send(to, phase);
    }

    /** The injectors were started: phases every one reached before are told now. */
    void tell(List<ChildProcess> started) {
      for (Runner.Phase phase : Runner.Phase.values()) {
        List<ChildProcess> to;
        synchronized (this) {
          children = started;
          to = due(phase);
        }
        send(to, phase);
      }
    }

    /** Whom to tell that every injector reached {@code phase}: nobody unless it is time. */
    private List<ChildProcess> due(Runner.Phase phase) {
      if (children == null
          || reached.getOrDefault(phase, Set.of()).size() < processes
          || !told.add(phase)) {
        return List.of();
      }
      return children;
    }

    private static void send(List<ChildProcess> to, Runner.Phase phase) {
      for (ChildProcess child : to) {
        try {
          child.send(Injector.EVERYONE + phase.wire());
        } catch (IOException e) {
          // That injector has ended.
        }
      }
    }
  }

  /** Samples into the timeline and into {@code samples.jsonl}. */
  private static final class SampleSink {
    private final Timeline timeline;
    private final BufferedWriter file;

    SampleSink(Timeline timeline, BufferedWriter file) {
      this.timeline = timeline;
      this.file = file;
    }

    void accept(IntervalSample s) {
      timeline.add(s);
      write(SampleCodec.encode(s));
    }

    void accept(String line) {
      timeline.add(SampleCodec.decode(line));
      write(line);
    }

    private synchronized void write(String line) {
      try {
        file.write(line);
        file.newLine();
        file.flush();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }

  /** Host name, cores and OS of this machine. */
  public static String machine() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "unknown host";
    }
    return host
        + ", "
        + Runtime.getRuntime().availableProcessors()
        + " cores, "
        + System.getProperty("os.name")
        + " "
        + System.getProperty("os.version")
        + " "
        + System.getProperty("os.arch");
  }

  /** The JDK's vendor and version. */
  public static String jdk() {
    return System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version");
  }
}
