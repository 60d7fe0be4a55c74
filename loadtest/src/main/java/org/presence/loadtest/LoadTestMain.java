package org.presence.loadtest;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.presence.loadtest.engine.Injector;
import org.presence.loadtest.engine.LoadConfig;
import org.presence.loadtest.engine.LoadRun;
import org.presence.loadtest.engine.Reports;
import org.presence.loadtest.floor.FloorServer;
import org.presence.loadtest.identity.TokenMinter;
import org.presence.loadtest.report.Assertion;
import org.presence.loadtest.report.Summary;
import org.presence.loadtest.scenario.Scenarios;
import org.presence.loadtest.transport.Transport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * The load harness's command line ({@code bin/loadtest}): {@code run} a built-in scenario against a
 * target, start a {@code floor} server, {@code list} scenarios, rebuild or merge a {@code report},
 * mint a {@code token}. {@code inject} is what injector processes run. See docs/loadtest.md.
 */
@Command(
    name = "loadtest",
    mixinStandardHelpOptions = true,
    versionProvider = LoadTestMain.Version.class,
    description = "Presence load harness: scenarios, floor server, reports.",
    subcommands = {
      LoadTestMain.Run.class,
      LoadTestMain.Floor.class,
      LoadTestMain.ListScenarios.class,
      LoadTestMain.Report.class,
      LoadTestMain.Token.class,
      LoadTestMain.Inject.class
    })
public final class LoadTestMain implements Runnable {
  @Spec CommandSpec spec;

  /**
   * Runs the command line and exits with its status; after SIGINT or SIGTERM the JVM's own status
   * for the signal (130, 143) stands: the run ended because its shutdown hook stopped it, and an
   * exit with the run's status could otherwise win the race with that shutdown's halt.
   */
  public static void main(String[] args) throws InterruptedException {
    int status = execute(args);
    if (shuttingDown()) {
      // The shutdown is under way: it halts the JVM once its hooks are done.
      Thread.currentThread().join();
    }
    System.exit(status);
  }

  /** Whether the JVM has begun to shut down (a signal): no hook can be added then. */
  private static boolean shuttingDown() {
    Thread probe = new Thread(() -> {});
    try {
      Runtime.getRuntime().addShutdownHook(probe);
      Runtime.getRuntime().removeShutdownHook(probe);
      return false;
    } catch (IllegalStateException e) {
      return true;
    }
  }

  /** Runs the command line and returns its exit status (tests call this). */
  public static int execute(String... args) {
    return commandLine().execute(args);
  }

  /** The picocli command line, for tests that redirect its output. */
  public static CommandLine commandLine() {
    return new CommandLine(new LoadTestMain())
        .setExecutionExceptionHandler(
            (e, cmd, parsed) -> {
              cmd.getErr().println("loadtest: " + describe(e));
              cmd.getErr().flush();
              return LoadRun.RUN_FAILED;
            });
  }

  /**
   * What went wrong, in words rather than the exception's class name: a missing file, a port in
   * use; else the exception's message.
   */
  static String describe(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.nio.file.NoSuchFileException f) {
        return f.getFile() + ": no such file";
      }
      if (t instanceof java.io.FileNotFoundException f && f.getMessage() != null) {
        return f.getMessage();
      }
      if (t instanceof java.nio.file.AccessDeniedException f) {
        return f.getFile() + ": permission denied";
      }
      String m = t.getMessage();
      if (t instanceof java.net.BindException
          || (m != null && m.contains("Address already in use"))) {
        return "address already in use";
      }
    }
    String m = e.getMessage();
    return m != null && !m.isBlank() ? m : e.getClass().getSimpleName();
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The version from the jar's manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = LoadTestMain.class.getPackage().getImplementationVersion();
      return new String[] {"loadtest " + (v == null ? "development" : v)};
    }
  }

  /** {@code loadtest run SCENARIO}: one run, with its console line, report and exit status. */
  @Command(
      name = "run",
      mixinStandardHelpOptions = true,
      description = {
        "Run a built-in scenario against a target and write an HTML report.",
        "Exit status: 0 assertions held, 1 an assertion failed, 2 usage, 3 the run failed."
      })
  static final class Run implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(
        index = "0",
        paramLabel = "SCENARIO",
        description = "idle-density, connect-storm, churn, status-fanout, notify, soak")
    String scenario;

    @Option(
        names = "--target",
        defaultValue = "floor",
        description =
            "floor, floor-acked (a floor that answers each device frame as Presence answers a status) or presence (default: ${DEFAULT-VALUE}).")
    String target;

    @Option(
        names = "--url",
        paramLabel = "URL",
        description =
            "Target base URL (http://127.0.0.1:8080). Without it, target floor starts its own floor process.")
    String url;

    @Option(
        names = "--apps-url",
        paramLabel = "URL",
        description =
            "Another node of the same cluster for the application side: setup API calls, app update channels, notification posts (default: --url). Target presence only.")
    String appsUrl;

    @Option(
        names = "--app-transport",
        paramLabel = "ws|stream",
        description =
            "How apps subscribe to Presence: ws, the update channel (default), or stream, GET /<appid>/presence.json. Target presence only.")
    String appTransport;

    @Option(
        names = {"-u", "--users"},
        description = "Device users.")
    Long users;

    @Option(
        names = "--apps",
        description = "App connections (devices of user u report to app u %% apps).")
    Integer apps;

    @Option(
        names = "--ramp",
        paramLabel = "DURATION",
        description = "Time over which users start (10s, 1m).")
    String ramp;

    @Option(
        names = "--rate",
        paramLabel = "PER_SECOND",
        description = "Arrival rate, users a second (connect-storm).")
    Double rate;

    @Option(
        names = {"-d", "--duration"},
        paramLabel = "DURATION",
        description = "How long the load lasts after the ramp.")
    String duration;

    @Option(
        names = "--interval",
        paramLabel = "DURATION",
        description = "Time between one user's sends.")
    String interval;

    @Option(
        names = "--hold",
        paramLabel = "DURATION",
        description = "Idle hold after the ramp (idle-density).")
    String hold;

    @Option(
        names = "--batch",
        description = "Notifications per POST (notify; soak: enables posters).")
    Integer batch;

    @Option(
        names = {"-p", "--processes"},
        defaultValue = "1",
        description =
            "Injector processes (default: ${DEFAULT-VALUE}); each may hold up to about 19,000 sockets.")
    int processes;

    @Option(
        names = "--slice",
        paramLabel = "K/N",
        description =
            "Run only slice K of N (0-based), for runs spread over N machines; merge them with 'loadtest report'.")
    String slice;

    @Option(
        names = "--source-addresses",
        paramLabel = "ADDRESSES",
        description =
            "Local addresses to bind, e.g. 127.0.0.1-127.0.0.8 (past ~28k ports per address).")
    String sourceAddresses;

    @Option(
        names = "--event-loops",
        defaultValue = "0",
        description = "Client event-loop threads per process (0: 2 x cores).")
    int eventLoops;

    @Option(
        names = "--transport",
        paramLabel = "NAME",
        description =
            "Netty transport of the harness's sockets: "
                + Transport.NAMES
                + " (default: auto, epoll where it loads).")
    String transport;

    @Option(
        names = "--floor-transport",
        paramLabel = "NAME",
        description =
            "Netty transport of a floor this run starts: " + Transport.NAMES + " (default: auto).")
    String floorTransport;

    @Option(
        names = "--signing-key",
        paramLabel = "JWK_FILE",
        description =
            "Private JWK to sign identity assertions (the node's presence-data/dev-identity.jwk).")
    Path signingKey;

    @Option(
        names = "--issuer",
        defaultValue = "presence-dev",
        description = "Assertion iss (default: ${DEFAULT-VALUE}).")
    String issuer;

    @Option(
        names = "--audience",
        defaultValue = "presence",
        description = "Assertion aud (default: ${DEFAULT-VALUE}).")
    String audience;

    @Option(
        names = "--subject-prefix",
        defaultValue = "dev:",
        description = "Assertion sub before the email (default: ${DEFAULT-VALUE}).")
    String subjectPrefix;

    @Option(
        names = "--server-pid",
        description = "The server's pid when it runs here: full GC by jcmd and RSS from /proc.")
    Long serverPid;

    @Option(
        names = "--metrics-url",
        paramLabel = "URL",
        description =
            "Where the Presence node's metrics are read: its admin port's base URL, http://HOST:PORT, or the page itself, http://HOST:PORT/metrics (default: --url's host, port 8081). Target presence only.")
    String metricsUrl;

    @Option(
        names = {"-o", "--out"},
        paramLabel = "DIR",
        description = "Report folder (default: loadtest-reports/SCENARIO-TIME).")
    Path out;

    @Option(
        names = "--console-every",
        defaultValue = "5",
        description = "Seconds between console lines (default: ${DEFAULT-VALUE}).")
    int consoleEvery;

    @Option(
        names = {"-a", "--assert"},
        paramLabel = "EXPR",
        description =
            "Assertion, repeatable: 'p99(ack) < 5ms', 'errors < 1%%', 'rate(delivered) > 1000'.")
    List<String> assertions = new ArrayList<>();

    @Option(
        names = "--injector-jvm-opt",
        paramLabel = "OPTION",
        description = "JVM option for injector processes, repeatable.")
    List<String> injectorJvmOptions = new ArrayList<>();

    @Option(
        names = "--floor-jvm-opt",
        paramLabel = "OPTION",
        description = "JVM option for a floor this run starts, repeatable.")
    List<String> floorJvmOptions = new ArrayList<>();

    @Option(
        names = "--timeout",
        defaultValue = "10s",
        description = "Connect and handshake timeout (default: ${DEFAULT-VALUE}).")
    String timeout;

    @Override
    public Integer call() throws Exception {
      PrintWriter err = spec.commandLine().getErr();
      int sliceIndex = 0;
      int sliceCount = 1;
      if (slice != null) {
        String[] kn = slice.split("/");
        try {
          sliceIndex = Integer.parseInt(kn[0].trim());
          sliceCount = Integer.parseInt(kn[1].trim());
        } catch (RuntimeException e) {
          err.println("loadtest: --slice wants K/N, e.g. 0/2");
          return LoadRun.USAGE;
        }
        if (sliceIndex < 0 || sliceIndex >= sliceCount) {
          err.println("loadtest: --slice K/N needs 0 <= K < N");
          return LoadRun.USAGE;
        }
      }
      if (consoleEvery < 1) {
        err.println("loadtest: --console-every must be at least 1 (seconds)");
        return LoadRun.USAGE;
      }
      if (signingKey != null && !java.nio.file.Files.isRegularFile(signingKey)) {
        err.println("loadtest: --signing-key " + signingKey + ": no such file");
        return LoadRun.USAGE;
      }
      if (processes < 1) {
        err.println("loadtest: --processes must be at least 1");
        return LoadRun.USAGE;
      }
      Path dir =
          out != null
              ? out
              : Path.of(
                  "loadtest-reports",
                  scenario
                      + "-"
                      + LocalDateTime.now(java.time.ZoneOffset.UTC)
                          .format(
                              DateTimeFormatter.ofPattern(
                                  "yyyyMMdd-HHmmss", java.util.Locale.ROOT)));
      LoadConfig c =
          new LoadConfig(
              scenario,
              target,
              url,
              appsUrl,
              appTransport,
              users,
              apps,
              ramp,
              rate,
              duration,
              interval,
              hold,
              batch,
              processes,
              sliceIndex,
              sliceCount,
              sourceAddresses,
              eventLoops,
              signingKey == null ? defaultKey() : signingKey.toString(),
              issuer,
              audience,
              subjectPrefix,
              serverPid,
              dir.toString(),
              consoleEvery,
              assertions,
              injectorJvmOptions,
              floorJvmOptions,
              timeout,
              metricsUrl,
              transport,
              floorTransport);
      try {
        c.params();
        c.checkUrls();
        c.timeoutDuration();
        c.harnessTransport();
        Transport.named(floorTransport);
      } catch (IllegalArgumentException e) {
        err.println("loadtest: " + e.getMessage());
        return LoadRun.USAGE;
      }
      String command =
          "loadtest " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
      return new LoadRun(c, spec.commandLine().getOut(), err, command).run();
    }

    private static String defaultKey() {
      Path p = Path.of("presence-data", "dev-identity.jwk");
      return p.toFile().isFile() ? p.toString() : null;
    }
  }

  /** {@code loadtest floor}: the bare Netty WebSocket server, until killed. */
  @Command(
      name = "floor",
      mixinStandardHelpOptions = true,
      description = "Start the floor: a bare Netty WebSocket server (hold, relay).")
  static final class Floor implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
        names = "--host",
        defaultValue = "127.0.0.1",
        description = "Address to bind (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(
        names = "--port",
        defaultValue = "8090",
        description = "Port, 0 for any (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--io-threads", defaultValue = "0", description = "I/O threads (0: 2 x cores).")
    int ioThreads;

    @Option(
        names = "--transport",
        paramLabel = "NAME",
        defaultValue = "auto",
        description = "Netty transport: " + Transport.NAMES + " (default: ${DEFAULT-VALUE}).")
    String transport;

    @Option(
        names = "--until-stdin-closes",
        hidden = true,
        description = "Stop when standard input closes (a floor that a run started).")
    boolean untilStdinCloses;

    @Override
    public Integer call() throws Exception {
      Transport t;
      PrintWriter err = spec.commandLine().getErr();
      try {
        t = Transport.named(transport);
      } catch (IllegalArgumentException e) {
        err.println("loadtest floor: " + e.getMessage());
        return LoadRun.USAGE;
      }
      if (port < 0 || port > 65535) {
        err.println("loadtest floor: --port must be 0 to 65535, not " + port);
        return LoadRun.USAGE;
      }
      FloorServer server;
      try {
        server = FloorServer.start(host, port, ioThreads, t);
      } catch (Exception e) {
        err.println("loadtest floor: cannot listen on " + host + ":" + port + ": " + describe(e));
        return LoadRun.RUN_FAILED;
      }
      CountDownLatch stopped = new CountDownLatch(1);
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    server.close();
                    stopped.countDown();
                  },
                  "floor-shutdown"));
      if (untilStdinCloses) {
        // Started by a run: when the run ends, or dies, its end of the pipe closes.
        Thread watcher =
            new Thread(
                () -> {
                  try {
                    while (System.in.read() >= 0) {
                      // Nothing is sent; wait for the end of input.
                    }
                  } catch (java.io.IOException e) {
                    // Gone as well.
                  }
                  System.exit(0);
                },
                "floor-stdin");
        watcher.setDaemon(true);
        watcher.start();
      }
      PrintWriter out = spec.commandLine().getOut();
      out.println(
          "floor listening on http://" + host + ":" + server.port() + " on " + t.wireName());
      out.flush();
      stopped.await();
      return 0;
    }
  }

  /** {@code loadtest list}: the built-in scenarios. */
  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "List the built-in scenarios.")
  static final class ListScenarios implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      Scenarios.list().forEach((k, v) -> out.printf(java.util.Locale.ROOT, "%-14s %s%n", k, v));
      out.flush();
      return 0;
    }
  }

  /** {@code loadtest report DIR...}: rebuild one run's report or merge several runs' samples. */
  @Command(
      name = "report",
      mixinStandardHelpOptions = true,
      description =
          "Rebuild a report from samples.jsonl, merging several run folders (one per machine) into one.")
  static final class Report implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "DIR", description = "Run folders.")
    List<Path> dirs;

    @Option(
        names = {"-o", "--out"},
        paramLabel = "DIR",
        description = "Where to write (default: the first folder).")
    Path out;

    @Option(
        names = {"-a", "--assert"},
        paramLabel = "EXPR",
        description = "Assertion, repeatable.")
    List<String> assertions = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
      List<Assertion> parsed = new ArrayList<>();
      try {
        for (String a : assertions) {
          parsed.add(Assertion.parse(a));
        }
      } catch (IllegalArgumentException e) {
        spec.commandLine().getErr().println("loadtest: " + e.getMessage());
        return LoadRun.USAGE;
      }
      Path target = out != null ? out : dirs.get(0);
      String command =
          "loadtest " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
      Summary s;
      try {
        s = Reports.rebuild(dirs, target, parsed, command);
      } catch (IllegalArgumentException e) {
        spec.commandLine().getErr().println("loadtest: cannot merge: " + e.getMessage());
        return LoadRun.USAGE;
      }
      Reports.printFinal(spec.commandLine().getOut(), s, target, null);
      return s.passed() ? LoadRun.OK : LoadRun.ASSERTION_FAILED;
    }
  }

  /**
   * {@code loadtest token}: one identity assertion for a virtual user, for trying things by hand.
   */
  @Command(
      name = "token",
      mixinStandardHelpOptions = true,
      description = "Print an identity assertion for virtual user N.")
  static final class Token implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
        names = "--signing-key",
        required = true,
        paramLabel = "JWK_FILE",
        description = "Private JWK.")
    Path key;

    @Option(
        names = "--user",
        defaultValue = "0",
        description = "Virtual user number (default: ${DEFAULT-VALUE}).")
    long user;

    @Option(
        names = "--issuer",
        defaultValue = "presence-dev",
        description = "iss (default: ${DEFAULT-VALUE}).")
    String issuer;

    @Option(
        names = "--audience",
        defaultValue = "presence",
        description = "aud (default: ${DEFAULT-VALUE}).")
    String audience;

    @Option(
        names = "--subject-prefix",
        defaultValue = "dev:",
        description = "sub prefix (default: ${DEFAULT-VALUE}).")
    String subjectPrefix;

    @Override
    public Integer call() {
      PrintWriter err = spec.commandLine().getErr();
      if (user < 0) {
        err.println("loadtest token: --user must be 0 or more, not " + user);
        return LoadRun.USAGE;
      }
      if (!java.nio.file.Files.isRegularFile(key)) {
        err.println("loadtest token: --signing-key " + key + ": no such file");
        return LoadRun.USAGE;
      }
      TokenMinter m =
          new TokenMinter(
              TokenMinter.load(key),
              issuer,
              audience,
              subjectPrefix,
              java.time.Duration.ofHours(1));
      spec.commandLine().getOut().println(m.mint(user));
      spec.commandLine().getOut().flush();
      return 0;
    }
  }

  /**
   * {@code loadtest inject}: one injector process of a multi-process run (started by {@code run}).
   */
  @Command(name = "inject", hidden = true, description = "Injector process of a multi-process run.")
  static final class Inject implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--plan", required = true)
    Path plan;

    @Option(names = "--injector", required = true)
    int index;

    @Override
    public Integer call() throws Exception {
      BufferedReader in =
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      return Injector.run(LoadConfig.read(plan), index, in, spec.commandLine().getOut());
    }
  }
}
