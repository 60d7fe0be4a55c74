package org.presence.gateway.clients;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.TestNode;

/**
 * The Java client's examples ({@code presence-client/examples}) run as the README says (a single
 * source file launched by {@code java}) against a real node in this JVM.
 */
class JavaExamplesTest {
  @TempDir Path dataDir;

  @Test
  void appQuickstart_saysHowToResume_onlyOnceThereIsACursor() throws Exception {
    Path example =
        Path.of("..", "presence-client", "examples", "AppQuickstart.java").toAbsolutePath();
    assertThat(example).exists();
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("identity.dev-signing", "true");
    s.put("outbound.allow-loopback", "true");
    try (TestNode n = TestNode.start(s, r -> {});
        DomainStub site = DomainStub.start()) {
      NotifyFixture.App app = NotifyFixture.activeApp(n, site, "dev@example.com", "Quickstart");
      Path java = Path.of(System.getProperty("java.home"), "bin", "java");
      ProcessBuilder pb =
          new ProcessBuilder(
                  java.toString(), "-cp", System.getProperty("java.class.path"), example.toString())
              .redirectErrorStream(true);
      pb.environment().put("PRESENCE_URL", n.uri("").toString().replaceAll("/$", ""));
      pb.environment().put("APP_ID", Long.toString(app.id()));
      pb.environment().put("KEY", app.key());
      Process p = pb.start();
      List<String> lines = new CopyOnWriteArrayList<>();
      CompletableFuture<Void> read =
          CompletableFuture.runAsync(
              () -> {
                try (BufferedReader r =
                    new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                  String l;
                  while ((l = r.readLine()) != null) {
                    lines.add(l);
                  }
                } catch (java.io.IOException e) {
                  // the process ended
                }
              });
      try {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (lines.stream().noneMatch(l -> l.startsWith("snapshot at"))
            && p.isAlive()
            && System.nanoTime() < until) {
          Thread.sleep(100);
        }
        assertThat(lines).as(String.join("\n", lines)).anyMatch(l -> l.startsWith("snapshot at"));
      } finally {
        p.destroy();
        p.waitFor(30, TimeUnit.SECONDS);
        read.get(30, TimeUnit.SECONDS);
      }
      // The node refuses since=-1 (errno 190): the example never tells the reader to use it, and
      // says to resume from the last seq printed once there is one.
      assertThat(lines).as(String.join("\n", lines)).noneMatch(l -> l.contains("since=-1"));
      assertThat(lines)
          .as(String.join("\n", lines))
          .anyMatch(l -> l.matches("snapshot at [0-9]+: .*pass the last seq printed as since\\)"));
    }
  }
}
