package org.presence.loadtest.presence;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.loadtest.LoadTestMain;
import org.presence.loadtest.probe.ServerMemory;
import picocli.CommandLine;

class PresenceProbeTest {
  @TempDir Path dir;

  @Test
  void presenceProbe_readsPrometheusText() {
    Map<String, Double> m =
        PresenceProbe.parse(
            "# HELP x\njvm_memory_heap_used 3.2083968E7\npresence_connections_open{kind=\"device\"} 5.0\nbad line\n");
    assertThat(m).containsEntry("jvm_memory_heap_used", 3.2083968E7);
    assertThat(m).containsEntry("presence_connections_open{kind=\"device\"}", 5.0);
  }

  /** An admin port that serves {@code /metrics} and remembers the paths asked for. */
  private static HttpServer adminPort(List<String> paths) throws Exception {
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 4);
    s.createContext(
        "/",
        ex -> {
          paths.add(ex.getRequestURI().getPath());
          boolean metrics = ex.getRequestURI().getPath().equals("/metrics");
          byte[] body =
              (metrics
                      ? "jvm_memory_heap_used 1000\npresence_connections_open{kind=\"device\"} 2\n"
                      : "not here")
                  .getBytes(StandardCharsets.UTF_8);
          ex.sendResponseHeaders(metrics ? 200 : 404, body.length);
          try (OutputStream o = ex.getResponseBody()) {
            o.write(body);
          }
        });
    s.start();
    return s;
  }

  @Test
  void metricsUrl_mayNameTheAdminPortOrItsMetricsPage() throws Exception {
    List<String> paths = new CopyOnWriteArrayList<>();
    HttpServer s = adminPort(paths);
    try {
      String base = "http://127.0.0.1:" + s.getAddress().getPort();
      for (String url : List.of(base, base + "/", base + "/metrics", base + "/metrics/")) {
        PresenceProbe p = new PresenceProbe(URI.create(url), OptionalLong.empty());
        assertThat(p.metricsUrl()).as(url).isEqualTo(URI.create(base + "/metrics"));
        ServerMemory m = p.measure(false).orElseThrow(() -> new AssertionError(url));
        assertThat(m.heapUsed()).isEqualTo(1000);
      }
      assertThat(paths).containsOnly("/metrics");
    } finally {
      s.stop(0);
    }
  }

  @Test
  void aMetricsPageThatCannotBeRead_isNamedInTheWarning_notTheUrl() throws Exception {
    List<String> paths = new CopyOnWriteArrayList<>();
    HttpServer node = adminPort(paths); // answers 404 to the devices: they fail, quickly
    Path key = dir.resolve("k.jwk");
    Files.writeString(
        key,
        new ECKeyGenerator(Curve.P_256).algorithm(JWSAlgorithm.ES256).generate().toJSONString(),
        StandardCharsets.UTF_8);
    String metrics;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
      metrics = "http://127.0.0.1:" + free.getLocalPort() + "/metrics";
    }
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = LoadTestMain.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    try {
      cl.execute(
          "run",
          "idle-density",
          "--target",
          "presence",
          "--url",
          "http://127.0.0.1:" + node.getAddress().getPort(),
          "--metrics-url",
          metrics,
          "--signing-key",
          key.toString(),
          "-u",
          "1",
          "--ramp",
          "1s",
          "--hold",
          "1s",
          "--event-loops",
          "1",
          "-o",
          dir.resolve("run").toString());
    } finally {
      node.stop(0);
    }
    assertThat(err.toString())
        .contains("cannot read the server's memory at " + metrics + " (--metrics-url)");
  }
}
