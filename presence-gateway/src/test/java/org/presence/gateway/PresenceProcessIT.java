package org.presence.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
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
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.cli.PresenceCli;

/** The shipped jar, run as operators run it: start, answer, SIGTERM, exit. */
class PresenceProcessIT {
  private static final Pattern LISTENING =
      Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");
  private static final Pattern ADMIN =
      Pattern.compile("admin port \\(metrics\\) on http://127\\.0\\.0\\.1:(\\d+)");

  @TempDir Path dataDir;
  @TempDir Path logs;
  private final List<Process> processes = new ArrayList<>();

  /**
   * A running node process. Its output goes to files: the JDK closes a child's pipe under a blocked
   * reader when the child exits, which would lose the last lines.
   */
  private record Node(Process process, Output out, Output err, int port, int adminPort) {}

  /** Lines a process wrote to a file, read fresh on every call. */
  private record Output(Path file) {
    List<String> lines() {
      try {
        return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
      } catch (IOException e) {
        return List.of();
      }
    }

    @Override
    public String toString() {
      return lines().toString();
    }
  }

  private int launched;

  @AfterEach
  void killLeftovers() {
    processes.forEach(Process::destroyForcibly);
  }

  private record Launched(Process process, Output out, Output err) {}

  private Launched launch(String... args) throws IOException {
    return launchWith(List.of(), args);
  }

  /** Launches the node's jar with {@code jvmOptions} before {@code -jar}. */
  private Launched launchWith(List<String> jvmOptions, String... args) throws IOException {
    Path jar = Path.of("target", "presence.jar");
    assertThat(jar).exists();
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.add("-Xmx256m");
    cmd.addAll(jvmOptions);
    cmd.add("-jar");
    cmd.add(jar.toString());
    cmd.addAll(List.of(args));
    int n = ++launched;
    Output out = new Output(logs.resolve("out-" + n + ".txt"));
    Output err = new Output(logs.resolve("err-" + n + ".txt"));
    Process p =
        new ProcessBuilder(cmd)
            .redirectOutput(out.file().toFile())
            .redirectError(err.file().toFile())
            .start();
    processes.add(p);
    return new Launched(p, out, err);
  }

  /** {@code serve} on any free ports and the test's data directory, then {@code extra}. */
  private String[] serveArgs(String... extra) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "serve",
                "--port",
                "0",
                "--admin-port",
                "0",
                "--data-dir",
                dataDir.toString(),
                "--set",
                "gateway.drain-timeout=3s"));
    args.addAll(List.of(extra));
    return args.toArray(String[]::new);
  }

  private Node start(String... extra) throws Exception {
    Launched l = launch(serveArgs(extra));
    Process p = l.process();
    Output out = l.out();
    Output err = l.err();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      int port = -1;
      int admin = -1;
      for (String line : concat(out.lines(), err.lines())) {
        Matcher m = LISTENING.matcher(line);
        if (m.find()) {
          port = Integer.parseInt(m.group(1));
        }
        Matcher a = ADMIN.matcher(line);
        if (a.find()) {
          admin = Integer.parseInt(a.group(1));
        }
      }
      if (port > 0 && admin > 0) {
        return new Node(p, out, err, port, admin);
      }
      if (!p.isAlive()) {
        throw new AssertionError("node exited " + p.exitValue() + ": " + err);
      }
      Thread.sleep(50);
    }
    throw new AssertionError("node did not start: " + out + err);
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  private static HttpResponse<String> get(int port, String path) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
            HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void serve_answersTheFourEndpointsAndPrintsHowToGetAToken() throws Exception {
    Node node = start();
    assertThat(get(node.port(), "/__lbheartbeat__").statusCode()).isEqualTo(200);
    assertThat(get(node.port(), "/__heartbeat__").statusCode()).isEqualTo(200);
    assertThat(get(node.port(), "/__version__").body()).contains("\"commit\"");
    assertThat(get(node.adminPort(), "/metrics").body()).contains("presence_connections_open");
    assertThat(get(node.port(), "/metrics").statusCode()).isEqualTo(404);
    assertThat(node.out().lines()).anyMatch(l -> l.contains("dev-token --email"));
  }

  @Test
  void sigterm_drainsAndExitsWithinTheDrainTimeout() throws Exception {
    Node node = start();
    try (Socket idle = new Socket("127.0.0.1", node.port())) {
      idle.getOutputStream()
          .write(
              "GET /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\n\r\n"
                  .getBytes(StandardCharsets.US_ASCII));
      idle.setSoTimeout(10_000);
      byte[] buf = new byte[4096];
      assertThat(idle.getInputStream().read(buf)).isPositive();

      long started = System.nanoTime();
      node.process().destroy(); // SIGTERM
      assertThat(node.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(8));
      assertThat(node.process().exitValue()).isEqualTo(143);
      assertThat(idle.getInputStream().read(buf)).isEqualTo(-1);
    }
    org.awaitility.Awaitility.await("stop logged in " + node.err())
        .atMost(Duration.ofSeconds(5))
        .until(() -> node.err().lines().stream().anyMatch(l -> l.matches(".*node \\S+ stopped.*")));
  }

  @Test
  void jsonLogs_areOneMozlogObjectPerLine() throws Exception {
    Node node = start("--log-format", "json");
    get(node.port(), "/__lbheartbeat__");
    node.process().destroy();
    node.process().waitFor(10, TimeUnit.SECONDS);
    List<String> lines = node.out().lines();
    assertThat(lines).isNotEmpty();
    ObjectMapper mapper = new ObjectMapper();
    for (String line : lines) {
      JsonNode json = mapper.readTree(line);
      assertThat(json.has("Timestamp") && json.has("Severity") && json.has("Fields"))
          .as(line)
          .isTrue();
      assertThat(json.get("EnvVersion").asText()).isEqualTo("2.0");
    }
    assertThat(lines).anyMatch(l -> l.contains("listening on"));
    assertThat(lines).anyMatch(l -> l.contains(" stopped"));
  }

  @Test
  void secondNodeOnTheSameDataDir_exitsWithOneLineNamingIt() throws Exception {
    start();
    Launched second = launch("serve", "--port", "0", "--data-dir", dataDir.toString());
    assertThat(second.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(second.process().exitValue()).isEqualTo(1);
    assertThat(second.err().lines())
        .filteredOn(l -> l.startsWith("presence: "))
        .singleElement()
        .asString()
        .startsWith("presence: data-dir: cannot open the embedded database");
  }

  @Test
  void badDatabaseUrl_exitsNonZeroWithOneLine() throws Exception {
    Launched p =
        launch(
            "serve",
            "--port",
            "0",
            "--data-dir",
            dataDir.toString(),
            "--database-url",
            "not a url",
            "--set",
            "identity.dev-signing=true");
    assertThat(p.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.process().exitValue()).isEqualTo(2);
    assertThat(p.err().lines())
        .singleElement()
        .asString()
        .startsWith("presence: store.database.url: ");
  }

  /**
   * A transport that does not work on the machine stops the node at start-up with one line naming
   * the setting and the native library's reason (here Netty's own switch turns its native
   * transports off in the node's JVM).
   */
  @Test
  void transportThatDoesNotLoad_exitsNonZeroNamingTheSetting() throws Exception {
    Launched p =
        launchWith(
            List.of("-Dio.netty.transport.noNative=true"),
            serveArgs("--set", "gateway.transport=epoll"));
    assertThat(p.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.process().exitValue()).isEqualTo(PresenceCli.EXIT_STARTUP);
    assertThat(p.err().lines())
        .filteredOn(l -> l.startsWith("presence: "))
        .singleElement()
        .asString()
        .startsWith("presence: gateway.transport: the epoll transport does not work here")
        .contains("noNative");
    assertThat(p.out().lines()).noneMatch(l -> LISTENING.matcher(l).find());
  }

  @Test
  void devTokenCommand_usesTheNodesKey() throws Exception {
    Launched p =
        launch("dev-token", "--email", "alice@example.com", "--data-dir", dataDir.toString());
    assertThat(p.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.process().exitValue()).isZero();
    assertThat(p.out().lines()).singleElement().asString().matches("[\\w-]+\\.[\\w-]+\\.[\\w-]+");
    assertThat(Files.exists(dataDir.resolve("dev-identity.jwk"))).isTrue();
  }
}
