package org.presence.gateway.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.config.InvalidConfigException;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.TestCa;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WsClient;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Ack;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.error.StartupException;

/**
 * TLS at the node ({@code tls.*}) with real TLS clients: the JDK's HttpClient and WebSocket, {@code
 * openssl s_client} and {@code curl}, against a node whose certificate a test CA signed.
 */
class NodeTlsTest {
  @TempDir Path dir;
  private TestCa ca;
  private Path cert;
  private Path key;

  @BeforeEach
  void ca() {
    ca = TestCa.create(dir);
    cert = dir.resolve("node.pem");
    key = dir.resolve("node.key");
    ca.issue("node-1", cert, key);
  }

  private TestNode node(Map<String, String> extra) {
    Map<String, String> s = TestNode.baseSettings(dir.resolve("data"));
    s.put("xmpp.port", "off");
    s.put("tls.cert", cert.toString());
    s.put("tls.key", key.toString());
    s.putAll(extra);
    return TestNode.start(s, r -> {});
  }

  private HttpClient client() {
    return HttpClient.newBuilder()
        .sslContext(ca.sslContext())
        .connectTimeout(Duration.ofSeconds(5))
        .build();
  }

  private static HttpResponse<String> get(HttpClient client, String url) {
    try {
      return client.send(
          HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new AssertionError("GET " + url + " failed", e);
    }
  }

  /** The common name of the certificate a new connection to {@code port} is served. */
  private String servedName(int port) {
    HttpResponse<String> r = get(client(), "https://127.0.0.1:" + port + "/__lbheartbeat__");
    try {
      X509Certificate c = (X509Certificate) r.sslSession().orElseThrow().getPeerCertificates()[0];
      return c.getSubjectX500Principal().getName();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void httpsAndWss_onBothPorts_withBoringSsl() {
    try (TestNode n = node(Map.of())) {
      assertThat(TlsPolicy.provider()).isEqualTo(SslProvider.OPENSSL);
      assertThat(n.server().baseUrl()).startsWith("https://");
      HttpClient client = client();
      HttpResponse<String> heartbeat =
          get(client, "https://127.0.0.1:" + n.port() + "/__heartbeat__");
      assertThat(heartbeat.statusCode()).isEqualTo(200);
      assertThat(heartbeat.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
      assertThat(heartbeat.sslSession().orElseThrow().getProtocol()).isEqualTo("TLSv1.3");
      HttpResponse<String> metrics = get(client, "https://127.0.0.1:" + n.adminPort() + "/metrics");
      assertThat(metrics.statusCode()).isEqualTo(200);
      assertThat(metrics.body()).contains("presence_tls_certificate_not_after");

      // A device session over wss.
      WsClient ws =
          WsClient.connect(
              client, URI.create("wss://127.0.0.1:" + n.port() + "/presence"), Map.of());
      try (DeviceTestClient device = DeviceTestClient.over(ws)) {
        assertThat(device.request(new Connect(n.token("tls@example.com"), null, "phone")))
            .isInstanceOf(DeviceMessage.Connected.class);
        assertThat(device.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      }
    }
  }

  @Test
  void plainHttp_onTheTlsPort_gets400_andTheAdminPortMayStayPlain() {
    try (TestNode n = node(Map.of("tls.admin", "false"))) {
      HttpResponse<String> plain =
          TestNode.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + n.port() + "/__heartbeat__"))
                  .timeout(Duration.ofSeconds(10))
                  .build());
      assertThat(plain.statusCode()).isEqualTo(400);
      assertThat(plain.body())
          .isEqualTo("{\"result\":false,\"errno\":100,\"reason\":\"" + TlsOnly.REASON + "\"}");
      // The port still speaks TLS to the next client.
      assertThat(get(client(), "https://127.0.0.1:" + n.port() + "/__heartbeat__").statusCode())
          .isEqualTo(200);
      assertThat(n.adminGet("/__lbheartbeat__").statusCode()).isEqualTo(200);
    }
  }

  @Test
  void onlyTls12And13_withAeadCiphers() {
    try (TestNode n = node(Map.of())) {
      String target = "127.0.0.1:" + n.port();
      // TLS 1.1: the client is allowed to offer it (security level 0), the node refuses it.
      TestCa.Result tls11 =
          TestCa.exec(
              "openssl",
              "s_client",
              "-connect",
              target,
              "-tls1_1",
              "-cipher",
              "DEFAULT:@SECLEVEL=0",
              "-CAfile",
              ca.caFile().toString());
      assertThat(tls11.exit()).as(tls11.output()).isNotZero();
      assertThat(tls11.output()).contains("alert protocol version");
      // TLS 1.2 with a CBC cipher (no AEAD): refused.
      TestCa.Result cbc =
          TestCa.exec(
              "openssl",
              "s_client",
              "-connect",
              target,
              "-tls1_2",
              "-cipher",
              "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384",
              "-CAfile",
              ca.caFile().toString());
      assertThat(cbc.exit()).as(cbc.output()).isNotZero();
      assertThat(cbc.output()).contains("alert handshake failure");
      // TLS 1.2 with AES-GCM, and with ChaCha20-Poly1305: accepted.
      for (String cipher :
          new String[] {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"}) {
        TestCa.Result ok =
            TestCa.exec(
                "openssl",
                "s_client",
                "-connect",
                target,
                "-tls1_2",
                "-cipher",
                cipher,
                "-CAfile",
                ca.caFile().toString(),
                "-verify_return_error");
        assertThat(ok.exit()).as(ok.output()).isZero();
        assertThat(ok.output()).contains("Cipher is " + cipher).contains("Verify return code: 0");
      }
      // curl over TLS 1.2 at most, and over TLS 1.3: HTTP/1.1 answers.
      for (String[] version :
          new String[][] {{"--tlsv1.2", "--tls-max", "1.2"}, {"--tlsv1.3", "--tls-max", "1.3"}}) {
        TestCa.Result curl =
            TestCa.exec(
                "curl",
                "-sS",
                "--max-time",
                "10",
                "--cacert",
                ca.caFile().toString(),
                version[0],
                version[1],
                version[2],
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "https://" + target + "/__lbheartbeat__");
        assertThat(curl.output()).as(String.join(" ", version)).isEqualTo("200");
      }
    }
  }

  @Test
  void reloadedCertificate_servesNewConnections_openOnesStay_badFilesKeepTheOld() throws Exception {
    try (TestNode n = node(Map.of("tls.reload-interval", "100ms"))) {
      assertThat(servedName(n.port())).isEqualTo("CN=node-1");
      HttpClient client = client();
      WsClient ws =
          WsClient.connect(
              client, URI.create("wss://127.0.0.1:" + n.port() + "/presence"), Map.of());
      try (DeviceTestClient device = DeviceTestClient.over(ws)) {
        assertThat(device.request(new Connect(n.token("reload@example.com"), null, "phone")))
            .isInstanceOf(DeviceMessage.Connected.class);

        ca.issue("node-2", cert, key);
        await()
            .atMost(Duration.ofSeconds(10))
            .untilAsserted(() -> assertThat(servedName(n.port())).isEqualTo("CN=node-2"));
        assertThat(metric(n, "presence_tls_reloads_total")).isEqualTo(1);
        // The session opened before the reload goes on.
        assertThat(device.status(PresenceStatus.AWAY, "lunch")).isEqualTo(Ack.INSTANCE);

        // A key that is not PEM: logged and counted once, the certificate in use stays.
        replace(key, "not a key\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        await()
            .atMost(Duration.ofSeconds(10))
            .untilAsserted(
                () -> assertThat(metric(n, "presence_tls_reload_failures_total")).isEqualTo(1));
        // A key that is not the certificate's: refused too.
        Path otherCert = dir.resolve("other.pem");
        Path otherKey = dir.resolve("other.key");
        ca.issue("other", otherCert, otherKey);
        replace(key, Files.readAllBytes(otherKey));
        await()
            .atMost(Duration.ofSeconds(10))
            .untilAsserted(
                () -> assertThat(metric(n, "presence_tls_reload_failures_total")).isEqualTo(2));
        Thread.sleep(300);
        assertThat(metric(n, "presence_tls_reload_failures_total")).isEqualTo(2);
        assertThat(servedName(n.port())).isEqualTo("CN=node-2");
        assertThat(device.status(PresenceStatus.ONLINE, null)).isEqualTo(Ack.INSTANCE);
      }
    }
  }

  /** Replaces {@code file} at once (written beside it, then moved), as a deployment should. */
  private static void replace(Path file, byte[] content) throws java.io.IOException {
    Path next = file.resolveSibling(file.getFileName() + ".next");
    Files.write(next, content);
    Files.move(next, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  private long metric(TestNode n, String name) {
    String body = get(client(), "https://127.0.0.1:" + n.adminPort() + "/metrics").body();
    for (String line : body.split("\n")) {
      if (line.startsWith(name + " ")) {
        return (long) Double.parseDouble(line.substring(name.length() + 1).trim());
      }
    }
    throw new AssertionError(name + " not in the metrics");
  }

  @Test
  void badOrMissingFiles_stopTheNodeAtStart_namingTheSetting() throws Exception {
    Path missing = dir.resolve("missing.key");
    assertThatThrownBy(() -> node(Map.of("tls.key", missing.toString())))
        .isInstanceOf(StartupException.class)
        .hasMessageContaining("no such file")
        .extracting(e -> ((StartupException) e).setting())
        .isEqualTo("tls.key");

    Path otherCert = dir.resolve("other.pem");
    Path otherKey = dir.resolve("other.key");
    ca.issue("other", otherCert, otherKey);
    assertThatThrownBy(() -> node(Map.of("tls.key", otherKey.toString())))
        .isInstanceOf(StartupException.class)
        .hasMessageContaining("not the one of tls.cert")
        .extracting(e -> ((StartupException) e).setting())
        .isEqualTo("tls.key");

    Path rsa1 = dir.resolve("rsa1.key");
    TestCa.exec("openssl", "genrsa", "-traditional", "-out", rsa1.toString(), "2048");
    assertThatThrownBy(() -> node(Map.of("tls.key", rsa1.toString())))
        .isInstanceOf(StartupException.class)
        .hasMessageContaining("openssl pkcs8 -topk8 -nocrypt");

    Path garbage = dir.resolve("garbage.pem");
    Files.writeString(garbage, "hello\n");
    assertThatThrownBy(() -> node(Map.of("tls.cert", garbage.toString())))
        .isInstanceOf(StartupException.class)
        .extracting(e -> ((StartupException) e).setting())
        .isEqualTo("tls.cert");

    assertThatThrownBy(() -> node(Map.of("tls.key", "")))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("tls.key: set both tls.cert and tls.key, or neither");
  }

  /**
   * {@code gateway.http-header-timeout} on a TLS port: a client that sends nothing is closed at it;
   * the first request's header is timed from the end of the handshake, not from the accept; and a
   * header that stops halfway is answered 408 through TLS.
   */
  @Test
  void theHeaderTimeout_startsAfterTheHandshake() throws Exception {
    long timeoutMs = 600;
    try (TestNode n = node(Map.of("gateway.http-header-timeout", timeoutMs + "ms"))) {
      try (Socket silent = new Socket()) {
        silent.connect(new InetSocketAddress("127.0.0.1", n.port()), 5000);
        silent.setSoTimeout(5000);
        long started = System.nanoTime();
        assertThat(silent.getInputStream().read()).isEqualTo(-1);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started))
            .isBetween(timeoutMs - 50, timeoutMs + 2_000);
      }
      try (Socket tcp = new Socket()) {
        tcp.connect(new InetSocketAddress("127.0.0.1", n.port()), 5000);
        Thread.sleep(timeoutMs * 2 / 3);
        try (SSLSocket tls =
            (SSLSocket)
                ca.sslContext().getSocketFactory().createSocket(tcp, "127.0.0.1", n.port(), true)) {
          tls.setSoTimeout(5000);
          tls.startHandshake();
          // Past the header timeout counted from the accept, within it counted from the handshake.
          Thread.sleep(timeoutMs * 2 / 3);
          OutputStream out = tls.getOutputStream();
          out.write(
              "GET /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\n\r\n"
                  .getBytes(StandardCharsets.US_ASCII));
          out.flush();
          assertThat(headOf(tls.getInputStream())).startsWith("HTTP/1.1 200 ");
          // Sent after the answer: in the same read as the request, it would be timed only from
          // the next read (configuration.md).
          out.write("GET /__lbheartbeat__ HTTP/1.1\r\nHo".getBytes(StandardCharsets.US_ASCII));
          out.flush();
          String got = new String(tls.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
          assertThat(got.substring(got.indexOf("HTTP/1.1"))).startsWith("HTTP/1.1 408 ");
          assertThat(got).contains("\"errno\":107");
        }
      }
    }
  }

  /** Reads an answer's head and its {@code Content-Length} body; returns the head. */
  private static String headOf(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed after " + head);
      }
      head.append((char) b);
    }
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
    in.readNBytes(m.find() ? Integer.parseInt(m.group(1)) : 0);
    return head.toString();
  }
}
