package org.presence.loadtest.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.PresenceServer;
import org.presence.loadtest.EmbeddedNode;
import org.presence.loadtest.HarnessProcess;

/**
 * {@code --url https://…}: a node with TLS on loopback (a self-signed certificate made with {@code
 * openssl}), trusted through {@code -Djavax.net.ssl.trustStore}, is set up (JSON API over https),
 * and loaded (devices over wss, notification posts over https) from two injector processes, which
 * inherit the trust store, without an error. The harness runs in a JVM of its own, as the trust
 * store is the JVM's.
 */
class TlsNodeRunTest {
  @TempDir Path dir;

  private static void exec(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0)
        .as(String.join(" ", command) + ": " + out)
        .isTrue();
  }

  @Test
  void notify_againstATlsNode_runsOverWssAndHttps_trustingTheJvmsTrustStore() throws Exception {
    assumeTrue(
        new ProcessBuilder("openssl", "version").start().waitFor() == 0, "openssl not found");
    Path cert = dir.resolve("node.pem");
    Path key = dir.resolve("node.key");
    exec(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        key.toString(),
        "-out",
        cert.toString(),
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost");
    Path trust = dir.resolve("trust.p12");
    String keytool =
        ProcessHandle.current().info().command().orElseThrow().replaceAll("java$", "keytool");
    exec(
        keytool,
        "-importcert",
        "-noprompt",
        "-alias",
        "node",
        "-file",
        cert.toString(),
        "-keystore",
        trust.toString(),
        "-storetype",
        "PKCS12",
        "-storepass",
        "changeit");

    Path data = dir.resolve("data");
    Map<String, String> s = EmbeddedNode.settings(data, "tls-node");
    s.put("tls.cert", cert.toString());
    s.put("tls.key", key.toString());
    s.put("device.rate", "1000");
    s.put("device.burst", "1000");
    s.put("device.handshake-rate", "0");
    PresenceServer node = EmbeddedNode.start(s);
    Path out = dir.resolve("run");
    try (HarnessProcess h =
        HarnessProcess.start(
            dir.resolve("logs"),
            List.of(
                "-Djavax.net.ssl.trustStore=" + trust,
                "-Djavax.net.ssl.trustStorePassword=changeit",
                "-Djavax.net.ssl.trustStoreType=PKCS12"),
            "run",
            "notify",
            "--target",
            "presence",
            "--url",
            "https://127.0.0.1:" + node.address().getPort(),
            "--metrics-url",
            "https://127.0.0.1:" + node.adminAddress().getPort() + "/metrics",
            "--signing-key",
            data.resolve("dev-identity.jwk").toString(),
            "-u",
            "3",
            "--apps",
            "1",
            "--batch",
            "1",
            "--ramp",
            "1s",
            "-d",
            "2s",
            "--interval",
            "200ms",
            "--event-loops",
            "1",
            "-p",
            "2",
            "--injector-jvm-opt=-Xmx96m",
            "-a",
            "count(notify) > 0",
            "-a",
            "errors == 0",
            "-o",
            out.toString())) {
      assertThat(h.waitFor(Duration.ofSeconds(90))).as(h.out() + h.err()).isZero();
      JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
      assertThat(summary.path("counters").path("opened").asLong()).isPositive();
      assertThat(Files.exists(out.resolve("presence-setup.json"))).isTrue();
    } finally {
      node.close();
    }
  }
}
