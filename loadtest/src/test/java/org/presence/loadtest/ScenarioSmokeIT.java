package org.presence.loadtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.loadtest.engine.LoadRun;
import org.presence.loadtest.floor.FloorServer;
import org.presence.loadtest.presence.PresenceProbe;
import org.presence.loadtest.probe.ServerMemory;
import picocli.CommandLine;

/**
 * A few-second smoke run of every scenario that a target offers today, through the command line as
 * a load engineer runs it: it asserts that each ran and reported (console line, summary, HTML
 * report, exit status), never a speed.
 */
class ScenarioSmokeIT {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static FloorServer floor;
  private static String url;

  @TempDir Path dir;

  @BeforeAll
  static void startFloor() throws Exception {
    floor = FloorServer.start("127.0.0.1", 0, 2);
    url = "http://127.0.0.1:" + floor.port();
  }

  @AfterAll
  static void stopFloor() {
    floor.close();
  }

  private record Result(int status, String out, String err, JsonNode summary, Path dir) {}

  private Result run(String... args) throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = LoadTestMain.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    List<String> all = new ArrayList<>(List.of(args));
    Path d = dir.resolve(args[1] + "-" + all.hashCode());
    all.addAll(List.of("-o", d.toString(), "--console-every", "1", "--event-loops", "2"));
    int status = cl.execute(all.toArray(String[]::new));
    Path summary = d.resolve("summary.json");
    return new Result(
        status,
        out.toString(),
        err.toString(),
        Files.exists(summary) ? MAPPER.readTree(summary.toFile()) : null,
        d);
  }

  /**
   * A short status-fanout run (20 devices, 2 apps, 2 s) with {@code options}, asserting that
   * updates arrived and nothing failed.
   */
  private Result smallFanout(String... options) throws Exception {
    List<String> args = new ArrayList<>(List.of("run", "status-fanout"));
    args.addAll(List.of(options));
    args.addAll(
        List.of(
            "-u",
            "20",
            "--apps",
            "2",
            "--ramp",
            "1s",
            "-d",
            "2s",
            "--interval",
            "50ms",
            "-a",
            "count(update) > 0",
            "-a",
            "errors == 0"));
    return run(args.toArray(String[]::new));
  }

  private static void assertReported(Result r) throws Exception {
    assertThat(r.summary()).as("summary.json; stderr: %s", r.err()).isNotNull();
    assertThat(r.out()).contains("] open ").contains("report: ");
    String html = Files.readString(r.dir().resolve("index.html"), StandardCharsets.UTF_8);
    assertThat(html).contains("<svg").contains("Latency");
    assertThat(Files.readAllLines(r.dir().resolve("samples.jsonl"))).isNotEmpty();
  }

  @Test
  void idleDensity_holdsSocketsAndReadsTheServersMemoryPerSocket() throws Exception {
    Result r =
        run(
            "run",
            "idle-density",
            "--url",
            url,
            "-u",
            "200",
            "--ramp",
            "1s",
            "--hold",
            "3s",
            "-a",
            "count(connect) == 200",
            "-a",
            "errors == 0");
    assertThat(r.status()).as(r.out() + r.err()).isEqualTo(LoadRun.OK);
    assertReported(r);
    assertThat(r.summary().path("peakActive").asLong()).isEqualTo(200);
    JsonNode probe = r.summary().path("probe");
    assertThat(probe.path("connections").asLong()).isEqualTo(200);
    assertThat(probe.path("loaded").path("afterFullGc").asBoolean()).isTrue();
    assertThat(probe.path("heapPerConnection").asDouble()).isGreaterThan(0);
    assertThat(r.out()).contains("server per connection (200 added by the run)");
  }

  @Test
  void connectStorm_opensAndClosesEverySession() throws Exception {
    Result r =
        run(
            "run",
            "connect-storm",
            "--url",
            url,
            "--rate",
            "200",
            "-d",
            "2s",
            "-a",
            "count(connect) == 400");
    assertThat(r.status()).as(r.out() + r.err()).isEqualTo(LoadRun.OK);
    assertReported(r);
    assertThat(r.summary().path("counters").path("users.done").asLong()).isEqualTo(400);
  }

  @Test
  void churn_reconnects() throws Exception {
    Result r =
        run(
            "run",
            "churn",
            "--url",
            url,
            "-u",
            "20",
            "--ramp",
            "1s",
            "-d",
            "2s",
            "--interval",
            "200ms");
    assertThat(r.status()).as(r.out() + r.err()).isEqualTo(LoadRun.OK);
    assertReported(r);
    assertThat(r.summary().path("latencies").path("connect").path("count").asLong())
        .isGreaterThan(20);
    assertThat(r.summary().path("errors").size()).isZero();
  }

  /** Against a floor that answers each device frame, every send waits for and records its ack. */
  @Test
  void statusFanout_againstTheAcknowledgingFloor_recordsAnAckPerSend() throws Exception {
    Result r = smallFanout("--target", "floor-acked", "--url", url);
    assertThat(r.status()).as(r.out() + r.err()).isEqualTo(LoadRun.OK);
    JsonNode s = r.summary();
    long sent = s.path("counters").path("sent").asLong();
    assertThat(sent).isPositive();
    assertThat(s.path("counters").path("delivered").asLong()).isEqualTo(sent);
    // One ack per send; a send still waiting when the run stopped (at most one per user) has none.
    assertThat(s.path("latencies").path("ack").path("count").asLong()).isBetween(sent - 20, sent);
  }

  /**
   * A run that starts its own floor, with the floor's and the harness's sockets on io_uring: the
   * floor says which transport it listens on, the run which one its sockets use.
   */
  @Test
  void statusFanout_onIoUring_againstAFloorTheRunStarts() throws Exception {
    Result r =
        smallFanout(
            "--transport",
            "io_uring",
            "--floor-transport",
            "io_uring",
            "--floor-jvm-opt",
            "-Xmx128m");
    assertThat(r.status()).as(r.out() + r.err()).isEqualTo(LoadRun.OK);
    assertThat(r.out()).containsPattern("floor started: http://\\S+ \\(pid \\d+, io_uring\\)");
    assertThat(r.out()).contains("harness transport: io_uring");
    JsonNode s = r.summary();
    assertThat(s.path("counters").path("delivered").asLong())
        .isEqualTo(s.path("counters").path("sent").asLong())
        .isPositive();
  }

  @Test
  void statusFanout_measuresLatencyAcrossConnections_inTwoInjectorProcesses() throws Exception {
    Result r =
        run(
            "run",
            "status-fanout",
            "--url",
            url,
            "-u",
            "40",
            "--apps",
            "4",
            "--ramp",
            "1s",
            "-d",
            "2s",
            "--interval",
            "50ms",
            "-p",
            "2",
            "--injector-jvm-opt",
            "-Xmx128m",
            "-a",
            "count(update) > 0",
            "-a",
            "p99(update) < 60s");
    assertThat(r.status()).as(r.out() + r.err()).isEqualTo(LoadRun.OK);
    assertReported(r);
    JsonNode s = r.summary();
    assertThat(s.path("run").path("injectors").asInt()).isEqualTo(2);
    assertThat(s.path("counters").path("delivered").asLong())
        .isEqualTo(s.path("counters").path("sent").asLong());
    assertThat(Files.exists(r.dir().resolve("injector-1.log"))).isTrue();
  }

  /**
   * One app, in injector 0; device 1 runs in injector 1, reports to that app, and starts 2 s after
   * device 0 (injector 0's only device) so that injector 0's own devices are done a second before
   * it sends: the app stays for it, and every update arrives.
   */
  @Test
  void statusFanout_appsStayUntilEveryInjectorsDevicesAreDone() throws Exception {
    Result r =
        run(
            "run",
            "status-fanout",
            "--url",
            url,
            "-u",
            "2",
            "--apps",
            "1",
            "--ramp",
            "4s",
            "-d",
            "1s",
            "--interval",
            "50ms",
            "-p",
            "2",
            "--injector-jvm-opt",
            "-Xmx128m",
            "-a",
            "errors == 0");
    assertThat(r.status()).as(r.out() + r.err()).isEqualTo(LoadRun.OK);
    JsonNode counters = r.summary().path("counters");
    assertThat(counters.path("sent").asLong()).isPositive();
    assertThat(counters.path("delivered").asLong())
        .as("updates the app received; %s", r.out())
        .isEqualTo(counters.path("sent").asLong());
  }

  @Test
  void failedAssertion_setsExitStatusOne_andTheReportSaysSo() throws Exception {
    Result r =
        run(
            "run",
            "connect-storm",
            "--url",
            url,
            "-u",
            "10",
            "-d",
            "1s",
            "-a",
            "count(connect) > 1000000");
    assertThat(r.status()).isEqualTo(LoadRun.ASSERTION_FAILED);
    assertThat(r.out()).contains("FAIL count(connect) > 1000000");
    assertThat(Files.readString(r.dir().resolve("index.html"))).contains("failed");
  }

  @Test
  void report_rebuildsAndMergesRunFolders() throws Exception {
    Result a = run("run", "connect-storm", "--url", url, "-u", "30", "-d", "1s", "--slice", "0/2");
    Result b = run("run", "connect-storm", "--url", url, "-u", "30", "-d", "1s", "--slice", "1/2");
    assertThat(a.summary().path("latencies").path("connect").path("count").asLong()).isEqualTo(15);
    Path merged = dir.resolve("merged");
    StringWriter out = new StringWriter();
    CommandLine cl = LoadTestMain.commandLine();
    cl.setOut(new PrintWriter(out, true));
    int status =
        cl.execute(
            "report",
            a.dir().toString(),
            b.dir().toString(),
            "-o",
            merged.toString(),
            "-a",
            "count(connect) == 30");
    assertThat(status).as(out.toString()).isZero();
    assertThat(
            MAPPER
                .readTree(merged.resolve("summary.json").toFile())
                .path("latencies")
                .path("connect")
                .path("count")
                .asLong())
        .isEqualTo(30);
  }

  @Test
  void unknownScenario_andMissingChannels_areUsageErrors() throws Exception {
    assertThat(run("run", "nope", "--url", url).status()).isEqualTo(LoadRun.USAGE);
    Result notify = run("run", "notify", "--url", url, "-u", "5");
    assertThat(notify.status()).isEqualTo(LoadRun.USAGE);
    assertThat(notify.err()).contains("NOTIFICATIONS").contains("floor");
    Result stream =
        run("run", "status-fanout", "--url", url, "-u", "5", "--app-transport", "stream");
    assertThat(stream.status()).isEqualTo(LoadRun.USAGE);
    assertThat(stream.err()).contains("--app-transport");
    Result transport = run("run", "status-fanout", "--url", url, "-u", "5", "--transport", "rdma");
    assertThat(transport.status()).isEqualTo(LoadRun.USAGE);
    assertThat(transport.err()).contains("unknown transport 'rdma'");
    Result floorTransport = run("run", "status-fanout", "-u", "5", "--floor-transport", "rdma");
    assertThat(floorTransport.status()).isEqualTo(LoadRun.USAGE);
    assertThat(floorTransport.err()).contains("unknown transport 'rdma'");
  }

  /**
   * The shaded Presence node, when the reactor built it, run as operators run it: its memory is
   * read; devices hold sockets; status changes reach the apps on the update channel (every one,
   * with its latency); notification batches reach the devices; connect storms, churn and a short
   * soak (every kind of user at once) run without errors.
   */
  @Test
  void presenceNode_memoryIsRead_everyScenarioRunsThroughThePresenceClients() throws Exception {
    Path jar = Path.of("..", "presence-gateway", "target", "presence.jar");
    assumeTrue(Files.exists(jar), "presence.jar not built in this reactor run");
    Path data = dir.resolve("node");
    Path log = dir.resolve("node.log");
    int adminPort;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
      adminPort = free.getLocalPort();
    }
    URI metrics = URI.create("http://127.0.0.1:" + adminPort);
    Process node =
        new ProcessBuilder(
                ProcessHandle.current().info().command().orElse("java"),
                "-Xmx256m",
                "-jar",
                jar.toString(),
                "serve",
                "--port",
                "0",
                "--admin-port",
                Integer.toString(adminPort),
                "--data-dir",
                data.toString(),
                "--set",
                "device.rate=1000",
                "--set",
                "device.burst=1000",
                "--set",
                "device.handshake-rate=0")
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    try {
      int port = awaitPort(node, log);
      URI base = URI.create("http://127.0.0.1:" + port);
      Optional<ServerMemory> m =
          new PresenceProbe(metrics, OptionalLong.of(node.pid())).measure(true);
      assertThat(m).isPresent();
      assertThat(m.get().heapUsed()).isPositive();
      assertThat(m.get().afterFullGc()).isTrue();
      assertThat(m.get().rss()).isPositive();
      String key = data.resolve("dev-identity.jwk").toString();
      Result idle =
          run(
              "run",
              "idle-density",
              "--target",
              "presence",
              "--url",
              base.toString(),
              "-u",
              "20",
              "--ramp",
              "1s",
              "--hold",
              "2s",
              "--signing-key",
              key,
              "--server-pid",
              Long.toString(node.pid()),
              "--metrics-url",
              metrics.toString(),
              "-a",
              "count(connect) == 20",
              "-a",
              "errors == 0");
      assertThat(idle.status()).as(idle.out() + idle.err()).isEqualTo(LoadRun.OK);
      assertReported(idle);

      Result fanout =
          run(
              "run",
              "status-fanout",
              "--target",
              "presence",
              "--url",
              base.toString(),
              "-u",
              "20",
              "--apps",
              "2",
              "--ramp",
              "1s",
              "-d",
              "2s",
              "--interval",
              "100ms",
              "--signing-key",
              key,
              "-a",
              "count(update) > 0",
              "-a",
              "errors == 0");
      assertThat(fanout.status()).as(fanout.out() + fanout.err()).isEqualTo(LoadRun.OK);
      assertReported(fanout);
      JsonNode counters = fanout.summary().path("counters");
      assertThat(counters.path("delivered").asLong())
          .as("every status change reached its app")
          .isEqualTo(counters.path("sent").asLong());
      assertThat(Files.exists(fanout.dir().resolve("presence-setup.json"))).isTrue();

      long streamFramesBefore = streamFrames(metrics);
      Result overStream =
          run(
              "run",
              "status-fanout",
              "--target",
              "presence",
              "--url",
              base.toString(),
              "-u",
              "10",
              "--apps",
              "2",
              "--ramp",
              "1s",
              "-d",
              "2s",
              "--interval",
              "100ms",
              "--app-transport",
              "stream",
              "--signing-key",
              key,
              "-a",
              "count(update) > 0",
              "-a",
              "errors == 0");
      assertThat(overStream.status()).as(overStream.out() + overStream.err()).isEqualTo(LoadRun.OK);
      JsonNode streamed = overStream.summary().path("counters");
      assertThat(streamed.path("delivered").asLong())
          .as("every status change reached its app over the stream")
          .isEqualTo(streamed.path("sent").asLong());
      assertThat(streamFrames(metrics))
          .as("the node wrote to streams")
          .isGreaterThan(streamFramesBefore);

      Result notify =
          run(
              "run",
              "notify",
              "--target",
              "presence",
              "--url",
              base.toString(),
              "-u",
              "20",
              "--apps",
              "2",
              "--batch",
              "5",
              "--ramp",
              "1s",
              "-d",
              "2s",
              "--interval",
              "100ms",
              "--signing-key",
              key,
              "-a",
              "count(notify) > 0",
              "-a",
              "count(post) > 0",
              "-a",
              "errors == 0");
      assertThat(notify.status()).as(notify.out() + notify.err()).isEqualTo(LoadRun.OK);
      assertReported(notify);
      assertThat(notify.summary().path("counters").path("delivered").asLong()).isPositive();

      Result storm =
          run(
              "run",
              "connect-storm",
              "--target",
              "presence",
              "--url",
              base.toString(),
              "--rate",
              "20",
              "-d",
              "2s",
              "--signing-key",
              key,
              "-a",
              "count(connect) == 40",
              "-a",
              "errors == 0");
      assertThat(storm.status()).as(storm.out() + storm.err()).isEqualTo(LoadRun.OK);
      assertReported(storm);

      Result churn =
          run(
              "run",
              "churn",
              "--target",
              "presence",
              "--url",
              base.toString(),
              "-u",
              "10",
              "--ramp",
              "1s",
              "-d",
              "2s",
              "--interval",
              "300ms",
              "--signing-key",
              key,
              "-a",
              "errors == 0");
      assertThat(churn.status()).as(churn.out() + churn.err()).isEqualTo(LoadRun.OK);
      assertReported(churn);
      assertThat(churn.summary().path("latencies").path("connect").path("count").asLong())
          .isGreaterThan(10);

      Result soak =
          run(
              "run",
              "soak",
              "--target",
              "presence",
              "--url",
              base.toString(),
              "-u",
              "20",
              "--apps",
              "2",
              "--batch",
              "2",
              "--ramp",
              "1s",
              "-d",
              "3s",
              "--interval",
              "300ms",
              "--signing-key",
              key,
              "-a",
              "count(connect) > 0",
              "-a",
              "errors == 0");
      assertThat(soak.status()).as(soak.out() + soak.err()).isEqualTo(LoadRun.OK);
      assertReported(soak);
    } finally {
      node.destroy();
      node.waitFor(20, TimeUnit.SECONDS);
      node.destroyForcibly();
    }
  }

  /** The node's count of frames written to presence streams, from its metrics (admin port). */
  private static long streamFrames(URI base) throws Exception {
    String text =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(base.resolve("/metrics")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString())
            .body();
    for (String line : text.split("\n")) {
      if (line.startsWith("presence_frames_out_total{") && line.contains("kind=\"stream\"")) {
        return (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return 0;
  }

  private static int awaitPort(Process node, Path log) throws Exception {
    Pattern listening = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      for (String line : Files.exists(log) ? Files.readAllLines(log) : List.<String>of()) {
        Matcher m = listening.matcher(line);
        if (m.find()) {
          return Integer.parseInt(m.group(1));
        }
      }
      assertThat(node.isAlive())
          .as("node exited: %s", Files.exists(log) ? Files.readString(log) : "")
          .isTrue();
      Thread.sleep(100);
    }
    throw new AssertionError("node did not start: " + Files.readString(log));
  }
}
