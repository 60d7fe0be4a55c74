package org.presence.gateway.clients;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.TestNode;
import org.presence.store.testing.Backends;

/**
 * The JavaScript client ({@code clients/js}) against a real node: starts one in this JVM, makes an
 * application, a user's grant and a webhook through the JSON API, and runs Node's own test runner
 * ({@code node --test}) on the package's tests with their details in the environment. Skips when
 * Node is not installed, unless under {@code bin/test-all} (which installs Debian's {@code
 * nodejs}), where that fails.
 */
class JsClientTest {
  @TempDir Path dataDir;

  @Test
  void theJavaScriptClientsTests_passAgainstARealNode() throws Exception {
    Path pkg = Path.of("..", "clients", "js").toAbsolutePath().normalize();
    assertThat(pkg.resolve("package.json")).exists();
    List<String> node = nodeCommand();

    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("identity.dev-signing", "true");
    s.put("outbound.allow-loopback", "true");
    s.put("device.handshake-rate", "0");
    s.put("webhooks.interval", "1s");
    s.put("webhooks.max-backoff", "2s");
    int hookPort;
    try (ServerSocket probe = new ServerSocket(0)) {
      hookPort = probe.getLocalPort();
    }
    try (TestNode n = TestNode.start(s, r -> {});
        DomainStub site = DomainStub.start()) {
      NotifyFixture.App app = NotifyFixture.activeApp(n, site, "dev@example.com", "Node app");
      String puid = NotifyFixture.grant(n, "js@example.com", app.id());
      String secret =
          NotifyFixture.json(
                  ApiClient.forEmail(n, "dev@example.com")
                      .put(
                          "/api/apps/" + app.id() + "/webhook",
                          "{\"url\":\"http://127.0.0.1:" + hookPort + "/hook\"}"))
              .get("webhook_secret")
              .asText();

      List<String> command = new ArrayList<>(node);
      command.add("--test");
      command.add("test/");
      ProcessBuilder pb = new ProcessBuilder(command).directory(pkg.toFile());
      pb.redirectErrorStream(true);
      Path log = dataDir.resolve("node-test.log");
      pb.redirectOutput(log.toFile());
      Map<String, String> env = pb.environment();
      env.put("PRESENCE_URL", n.uri("").toString());
      env.put("PRESENCE_APP_ID", Long.toString(app.id()));
      env.put("PRESENCE_APP_KEY", app.key());
      env.put("PRESENCE_PUID", puid);
      env.put("PRESENCE_TOKEN", n.token("js@example.com"));
      env.put("PRESENCE_WEBHOOK_SECRET", secret);
      env.put("PRESENCE_WEBHOOK_PORT", Integer.toString(hookPort));
      Process p = pb.start();
      boolean ended = p.waitFor(120, TimeUnit.SECONDS);
      if (!ended) {
        p.destroyForcibly();
      }
      String out = Files.readString(log, StandardCharsets.UTF_8);
      assertThat(ended).as("node --test ended within 120 s:\n%s", out).isTrue();
      assertThat(p.exitValue()).as("node --test:\n%s", out).isZero();
      assertThat(out).contains("# skipped 0").contains("# fail 0");
    }
  }

  /**
   * {@code node}, with {@code --experimental-websocket} on a Node (20, 21) whose global WebSocket
   * is behind that flag; skips (or fails under bin/test-all) without Node.
   */
  private static List<String> nodeCommand() throws InterruptedException {
    String probe = "process.exit(typeof WebSocket === 'function' ? 0 : 3)";
    Integer plain = run(List.of("node", "-e", probe));
    if (plain == null) {
      String message =
          "node is not installed (Debian: apt-get install nodejs; bin/test-all installs it):"
              + " the JavaScript client's tests did not run";
      if (System.getenv(Backends.REQUIRE) != null) {
        fail(message);
      }
      assumeTrue(false, message);
    }
    if (plain == 0) {
      return List.of("node");
    }
    Integer flagged = run(List.of("node", "--experimental-websocket", "-e", probe));
    return flagged != null && flagged == 0
        ? List.of("node", "--experimental-websocket")
        : List.of("node");
  }

  private static Integer run(List<String> command) throws InterruptedException {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : null;
    } catch (IOException e) {
      return null;
    }
  }
}
