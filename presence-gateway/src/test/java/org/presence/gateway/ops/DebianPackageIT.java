package org.presence.gateway.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Debian package {@code target/presence.deb} that {@code mvn package} builds, installed with
 * dpkg on this machine as an operator would: the installed {@code presence} command starts a node
 * from the packaged configuration, the unit passes {@code systemd-analyze verify}, and {@code dpkg
 * -r} / {@code --purge} take it away again (keeping, then removing, the conffile).
 *
 * <p>It needs root and dpkg, and is skipped without them, unless {@code
 * PRESENCE_TEST_REQUIRE_PACKAGE} is set (bin/test-all sets it where both are there), which turns
 * the skip into a failure.
 */
class DebianPackageIT {
  static final String REQUIRE = "PRESENCE_TEST_REQUIRE_PACKAGE";
  private static final Path DEB = Path.of("target", "presence.deb");
  private static final Path UNIT = Path.of("/usr/lib/systemd/system/presence.service");
  private static final Path USER_UNIT = Path.of("/usr/lib/systemd/user/presence-daemon.service");
  private static final Path CONF = Path.of("/etc/presence/presence.conf");
  private static final Pattern LISTENING =
      Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  private record Result(int exit, String out) {}

  @Test
  void installsStartsAndRemoves() throws Exception {
    canRun();
    assertThat(DEB).as("mvn package builds target/presence.deb").exists();
    Result fields = run("dpkg-deb", "--field", DEB.toString(), "Package", "Architecture");
    assertThat(fields.out()).contains("Package: presence", "Architecture: all");
    assertThat(run("dpkg-deb", "--info", DEB.toString(), "conffiles").out().trim())
        .isEqualTo(CONF.toString());

    try {
      Result install = run("dpkg", "-i", DEB.toString());
      assertThat(install.exit()).as(install.out()).isZero();
      assertThat(query("${Status}")).isEqualTo("install ok installed");

      Result version = run("/usr/bin/presence", "--version");
      assertThat(version.exit()).as(version.out()).isZero();
      assertThat(version.out())
          .as("the installed jar is this build")
          .startsWith("presence " + BuildInfo.current().version() + " (");

      String unit = Files.readString(UNIT);
      assertThat(unit)
          .contains(
              "ExecStart=/usr/bin/presence serve --config /etc/presence/presence.conf",
              "DynamicUser=yes",
              "ProtectSystem=strict",
              "StateDirectory=presence",
              "NoNewPrivileges=yes");
      verifyUnit(UNIT);
      assertThat(Files.readString(USER_UNIT))
          .contains("ExecStart=/usr/bin/presence daemon", "WantedBy=graphical-session.target");
      verifyUnit(USER_UNIT);

      serveFromPackage();

      Result remove = run("dpkg", "-r", "presence");
      assertThat(remove.exit()).as(remove.out()).isZero();
      assertThat(Path.of("/usr/bin/presence")).doesNotExist();
      assertThat(UNIT).doesNotExist();
      assertThat(USER_UNIT).doesNotExist();
      assertThat(CONF).as("dpkg -r keeps a conffile").exists();
      assertThat(query("${Status}")).isEqualTo("deinstall ok config-files");
    } finally {
      run("dpkg", "--purge", "presence");
    }
    assertThat(CONF).as("purging removes the conffile").doesNotExist();
    assertThat(query("${Status}")).isIn("", "unknown ok not-installed");
  }

  /** The installed command, started as the unit starts it but on free ports and a temp dir. */
  private void serveFromPackage() throws Exception {
    Path data = tmp.resolve("data");
    Path log = tmp.resolve("serve.log");
    ProcessBuilder pb =
        new ProcessBuilder(
                "/usr/bin/presence",
                "serve",
                "--config",
                CONF.toString(),
                "--port",
                "0",
                "--admin-port",
                "0",
                "--data-dir",
                data.toString(),
                "--set",
                "xmpp.port=off")
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    pb.environment().put("PRESENCE_JAVA_OPTS", "-Xmx256m -XX:+UseSerialGC");
    Process node = pb.start();
    try {
      int port = awaitPort(node, log);
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      HttpResponse<String> health =
          http.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/__heartbeat__"))
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(health.statusCode()).as(health.body()).isEqualTo(200);
      JsonNode body = JSON.readTree(health.body());
      assertThat(body.path("status").asText()).isEqualTo("ok");
      assertThat(body.path("database").path("kind").asText()).isEqualTo("embedded");
      assertThat(data).as("the node's data went to --data-dir").isDirectory();
      node.destroy();
      assertThat(node.waitFor(40, TimeUnit.SECONDS)).as("stops on SIGTERM").isTrue();
      assertThat(node.exitValue()).as(Files.readString(log)).isIn(0, 143);
    } finally {
      node.destroyForcibly();
      node.waitFor(10, TimeUnit.SECONDS);
    }
  }

  private static int awaitPort(Process node, Path log) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      List<String> lines =
          Files.exists(log) ? Files.readAllLines(log, StandardCharsets.UTF_8) : List.of();
      for (String line : lines) {
        Matcher m = LISTENING.matcher(line);
        if (m.find()) {
          return Integer.parseInt(m.group(1));
        }
      }
      if (!node.isAlive()) {
        fail("presence serve exited with " + node.exitValue() + ": " + lines);
      }
      Thread.sleep(100);
    }
    return fail("presence serve did not listen within 60 s: " + Files.readString(log));
  }

  /**
   * systemd-analyze verify exits 0 even for unknown keys and bad values; it names the file and line
   * of each on its output, so any line naming the unit fails.
   */
  private static void verifyUnit(Path unit) throws Exception {
    if (!onPath("systemd-analyze")) {
      System.out.println("DebianPackageIT: no systemd-analyze here, the unit is not verified");
      return;
    }
    Result verify = run("systemd-analyze", "verify", unit.toString());
    assertThat(verify.exit()).as(verify.out()).isZero();
    String name = unit.getFileName().toString();
    assertThat(verify.out().lines().filter(l -> l.contains(name)).toList())
        .as(verify.out())
        .isEmpty();
  }

  private static void canRun() throws Exception {
    String why = null;
    if (!"0".equals(run("id", "-u").out().trim())) {
      why = "not running as root";
    } else if (!onPath("dpkg")) {
      why = "no dpkg on this machine";
    } else if (!query("${Status}").isEmpty()
        && !query("${Status}").equals("unknown ok not-installed")) {
      why =
          "a presence package is on this machine already ("
              + query("${Status}")
              + "); the test would replace it. Remove it with dpkg --purge presence";
    }
    if (why != null) {
      String message = "DebianPackageIT skipped: " + why;
      if (System.getenv(REQUIRE) != null) {
        fail(message + " (" + REQUIRE + " is set)");
      }
      System.out.println(message);
      assumeTrue(false, message);
    }
  }

  private static String query(String format) throws Exception {
    Result r = run("dpkg-query", "--show", "--showformat=" + format, "presence");
    return r.exit() == 0 ? r.out().trim() : "";
  }

  private static boolean onPath(String command) throws Exception {
    return run("sh", "-c", "command -v " + command).exit() == 0;
  }

  /** Runs a command to its end (at most 2 minutes), both streams in one string. */
  private static Result run(String... cmd) throws IOException, InterruptedException {
    Path out = Files.createTempFile("presence-deb-it", ".out");
    try {
      ProcessBuilder pb =
          new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile());
      pb.environment().put("LC_ALL", "C");
      pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
      Process p = pb.start();
      p.getOutputStream().close();
      if (!p.waitFor(2, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        fail(String.join(" ", cmd) + " did not end within 2 minutes: " + Files.readString(out));
      }
      return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
    }
  }
}
