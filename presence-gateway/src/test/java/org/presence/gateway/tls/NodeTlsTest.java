package org.presence.gateway.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.config.InvalidConfigException;
import org.presence.gateway.http.HeaderDeadline;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.LogCapture;
import org.presence.gateway.testing.TestCa;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WsClient;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Ack;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.app.AppRepository;
import org.presence.store.app.Application;
import org.presence.store.app.NewApplication;
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

  /**
   * Pages answered over TLS carry Strict-Transport-Security (tls.hsts, on by default); a node told
   * not to sends none; a node without TLS never does.
   */
  @Test
  void pagesCarryHsts_overTls_unlessTurnedOff() {
    try (TestNode n = node(Map.of())) {
      HttpResponse<String> home = get(client(), "https://127.0.0.1:" + n.port() + "/");
      assertThat(home.statusCode()).isEqualTo(200);
      assertThat(home.headers().firstValue("Strict-Transport-Security"))
          .hasValue("max-age=31536000");
      HttpResponse<String> settings = get(client(), "https://127.0.0.1:" + n.port() + "/settings");
      assertThat(settings.statusCode()).isEqualTo(303);
      assertThat(settings.headers().firstValue("Strict-Transport-Security")).isPresent();
    }
    try (TestNode n = node(Map.of("tls.hsts", "false"))) {
      HttpResponse<String> home = get(client(), "https://127.0.0.1:" + n.port() + "/");
      assertThat(home.statusCode()).isEqualTo(200);
      assertThat(home.headers().firstValue("Strict-Transport-Security")).isEmpty();
    }
  }

  /**
   * Over TLS the session and anti-forgery cookies are {@code __Host-} prefixed (Secure, Path=/, no
   * Domain), and only those names are read: a session cookie under the bare name (which a sibling
   * subdomain or a page over plain HTTP could have set) signs no one in.
   */
  @Test
  void overTls_pageCookiesAreHostPrefixed_andOnlyThoseAreRead() throws Exception {
    try (TestNode n = node(Map.of("web.dev-sign-in", "true"))) {
      String base = "https://127.0.0.1:" + n.port();
      HttpClient http = client();
      String session = signIn(http, base, "tls@example.com").session();

      assertThat(
              getWith(http, base + "/settings", "__Host-presence_session=" + session).statusCode())
          .isEqualTo(200);
      // The same session under the bare name: not read, so the page sends the visitor to sign in.
      assertThat(getWith(http, base + "/settings", "presence_session=" + session).statusCode())
          .isEqualTo(303);
    }
  }

  @Test
  void overTls_pathScopedCookiesAreSecurePrefixed_andOnlyThoseAreRead() throws Exception {
    try (TestNode n = node(Map.of())) {
      AppRepository apps = n.server().store().persistence().apps();
      Application app =
          apps.create(
                  new NewApplication(
                      "Tls app", "tls-app.example", "", "dev-tls", "d@example.com", "k"))
              .toCompletableFuture()
              .get(10, TimeUnit.SECONDS);
      apps.markVerified(app.id()).toCompletableFuture().get(10, TimeUnit.SECONDS);
      apps.activate(app.id(), "hash").toCompletableFuture().get(10, TimeUnit.SECONDS);
      String base = "https://127.0.0.1:" + n.port();
      HttpClient http = client();
      // A consent request before the sign-in waits in a cookie scoped to the consent page.
      HttpResponse<String> consent =
          get(
              http,
              base
                  + "/"
                  + app.id()
                  + "/grant?redirect=https%3A%2F%2Ftls-app.example%2Fback&id=user-1");
      assertThat(consent.statusCode()).as(consent.body()).isEqualTo(303);
      String pending = setCookie(consent, "__Secure-presence_consent");
      assertThat(pending).contains("; Secure").contains("; Path=/" + app.id() + "/grant");
      assertThat(consent.headers().allValues("Set-Cookie"))
          .noneMatch(c -> c.startsWith("presence_consent="));
      String value = pending.substring(pending.indexOf('=') + 1, pending.indexOf(';'));
      String key = value.substring(0, value.indexOf('.'));
      String back = base + "/" + app.id() + "/grant?pending=" + key;
      // Under its name the request is found (the visitor is sent to sign in again); under the bare
      // name, which a page over plain HTTP could have set, it is not.
      HttpResponse<String> found = getWith(http, back, "__Secure-presence_consent=" + value);
      assertThat(found.statusCode()).as(found.body()).isEqualTo(303);
      HttpResponse<String> bare = getWith(http, back, "presence_consent=" + value);
      assertThat(bare.statusCode()).isEqualTo(404);
      assertThat(bare.body()).contains("no longer here");
    }
  }

  /** A signed-in visitor's cookie values over TLS. */
  private record SignedIn(String session, String nonce) {
    String cookies() {
      return "__Host-presence_session=" + session + "; __Host-presence_csrf=" + nonce;
    }
  }

  /**
   * Signs {@code email} in with the development sign-in over TLS, checking that the session and
   * anti-forgery cookies come under their {@code __Host-} names only.
   */
  private static SignedIn signIn(HttpClient http, String base, String email) throws Exception {
    HttpResponse<String> form = get(http, base + "/signin");
    assertThat(form.statusCode()).isEqualTo(200);
    String csrfCookie = setCookie(form, "__Host-presence_csrf");
    assertThat(csrfCookie).contains("; Secure").contains("; Path=/").doesNotContain("Domain");
    assertThat(form.headers().allValues("Set-Cookie"))
        .noneMatch(c -> c.startsWith("presence_csrf="));
    String nonce = csrfCookie.substring(csrfCookie.indexOf('=') + 1, csrfCookie.indexOf(';'));
    HttpResponse<String> signedIn =
        http.send(
            HttpRequest.newBuilder(URI.create(base + "/signin"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Cookie", "__Host-presence_csrf=" + nonce)
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "email="
                            + java.net.URLEncoder.encode(email, StandardCharsets.UTF_8)
                            + "&next=%2Fsettings&csrf="
                            + java.net.URLEncoder.encode(
                                csrfToken(form.body()), StandardCharsets.UTF_8)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(signedIn.statusCode()).as(signedIn.body()).isEqualTo(303);
    String sessionCookie = setCookie(signedIn, "__Host-presence_session");
    assertThat(sessionCookie).contains("; Secure").contains("; Path=/").doesNotContain("Domain");
    return new SignedIn(
        sessionCookie.substring(sessionCookie.indexOf('=') + 1, sessionCookie.indexOf(';')), nonce);
  }

  private static String csrfToken(String page) {
    java.util.regex.Matcher token =
        java.util.regex.Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"").matcher(page);
    assertThat(token.find()).as(page).isTrue();
    return token.group(1);
  }

  private static HttpResponse<String> getWith(HttpClient http, String url, String cookie)
      throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url)).header("Cookie", cookie).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void overTls_theNewKeyCookieIsSecurePrefixed_andOnlyThatNameShowsTheKey() throws Exception {
    try (TestNode n = node(Map.of("web.dev-sign-in", "true"))) {
      String base = "https://127.0.0.1:" + n.port();
      HttpClient http = client();
      SignedIn dev = signIn(http, base, "keys@example.com");
      AppRepository apps = n.server().store().persistence().apps();
      Application app =
          apps.create(
                  new NewApplication(
                      "Keyed",
                      "keyed.example",
                      "",
                      "dev:keys@example.com",
                      "keys@example.com",
                      "k"))
              .toCompletableFuture()
              .get(10, TimeUnit.SECONDS);
      apps.markVerified(app.id()).toCompletableFuture().get(10, TimeUnit.SECONDS);
      String page = base + "/myapps/" + app.id();
      String token = csrfToken(getWith(http, page, dev.cookies()).body());
      HttpResponse<String> activated =
          http.send(
              HttpRequest.newBuilder(URI.create(page + "/activate"))
                  .header("Content-Type", "application/x-www-form-urlencoded")
                  .header("Cookie", dev.cookies())
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "csrf=" + java.net.URLEncoder.encode(token, StandardCharsets.UTF_8)))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(activated.statusCode()).as(activated.body()).isEqualTo(303);
      String keyCookie = setCookie(activated, "__Secure-presence_new_key");
      assertThat(keyCookie).contains("; Secure").contains("; Path=/myapps/" + app.id());
      assertThat(activated.headers().allValues("Set-Cookie"))
          .noneMatch(c -> c.startsWith("presence_new_key="));
      String key = keyCookie.substring(keyCookie.indexOf('=') + 1, keyCookie.indexOf(';'));
      assertThat(getWith(http, page, dev.cookies() + "; __Secure-presence_new_key=" + key).body())
          .contains(key);
      assertThat(getWith(http, page, dev.cookies() + "; presence_new_key=" + key).body())
          .doesNotContain(key);
    }
  }

  /** The Set-Cookie header of {@code r} that sets {@code name}. */
  private static String setCookie(HttpResponse<String> r, String name) {
    return r.headers().allValues("Set-Cookie").stream()
        .filter(c -> c.startsWith(name + "="))
        .findFirst()
        .orElseThrow(() -> new AssertionError(name + " not set: " + r.headers().map()));
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
   *
   * <p>The client's TLS is driven by hand ({@link HeldBackTls}): its ClientHello goes at once, and
   * its last handshake flight is held back until the header timeout counted from the accept has
   * passed, then sent with what follows it. So the handshake ends after that point however slow the
   * machine is, and every wait here is a lower bound: the only thing that must come in time is the
   * ClientHello, written as the connection opens, within the timeout of the accept (what a client
   * sending nothing gets, below).
   */
  @Test
  void theHeaderTimeout_startsAfterTheHandshake() throws Exception {
    long timeoutMs = 1_000;
    try (TestNode n = node(Map.of("gateway.http-header-timeout", timeoutMs + "ms"));
        LogCapture log = LogCapture.of(HeaderDeadline.class)) {
      try (Socket silent = new Socket()) {
        // Before the connect: the node's accept, and its timing, come after.
        long started = System.nanoTime();
        silent.connect(new InetSocketAddress("127.0.0.1", n.port()), 5000);
        silent.setSoTimeout(READ_LIMIT_MS);
        assertThat(silent.getInputStream().read()).isEqualTo(-1);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started))
            .isGreaterThanOrEqualTo(timeoutMs - 50);
        // Closed by the header deadline (its line names this connection), not by anything else.
        assertThat(log.lines())
            .anySatisfy(
                l ->
                    assertThat(l)
                        .contains("no request within the header timeout")
                        .contains("R:/127.0.0.1:" + silent.getLocalPort() + "]"));
      }
      // Past the header timeout counted from the accept, the handshake ends with the request:
      // answered, as its header has the timeout counted from the handshake.
      try (HeldBackTls tls = HeldBackTls.connect(ca.sslContext(), n)) {
        byte[] lastFlight = tls.handshakeUpToTheLastFlight();
        tls.pastTheTimeoutFromTheAccept(timeoutMs);
        tls.send(lastFlight, "GET /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(tls.readUntil(a -> a.contains("\r\n\r\n"))).startsWith("HTTP/1.1 200 ");
        // Sent after the answer: in the same read as the request, it would be timed only from
        // the next read (configuration.md).
        tls.send(new byte[0], "GET /__lbheartbeat__ HTTP/1.1\r\nHo");
        String got = tls.readUntil(a -> false);
        assertThat(got.substring(got.indexOf("HTTP/1.1 408"))).startsWith("HTTP/1.1 408 ");
        assertThat(got).contains("\"errno\":107");
      }
      // The same, the handshake ending with half a header: 408 a timeout after the handshake (a
      // deadline not started again at the handshake would leave it to the 60 s idle timeout).
      try (HeldBackTls tls = HeldBackTls.connect(ca.sslContext(), n)) {
        byte[] lastFlight = tls.handshakeUpToTheLastFlight();
        tls.pastTheTimeoutFromTheAccept(timeoutMs);
        long sent = System.nanoTime();
        tls.send(lastFlight, "GET /__lbheartbeat__ HTTP/1.1\r\nHo");
        String got = tls.readUntil(a -> false);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent))
            .as("the 408 not before the timeout counted from the handshake")
            .isGreaterThanOrEqualTo(timeoutMs - 50);
        assertThat(got).startsWith("HTTP/1.1 408 ").contains("\"errno\":107");
      }
    }
  }

  /** Far over the header timeout, far under the idle timeout (60 s): ends a test that hangs. */
  private static final int READ_LIMIT_MS = 30_000;

  /**
   * A TLS client over a blocking socket, its {@link SSLEngine} driven by hand so that the test
   * decides when its last handshake flight leaves.
   */
  private static final class HeldBackTls implements AutoCloseable {
    private final Socket socket;
    private final SSLEngine engine;
    private final Channel served;
    private final long accepted;
    private ByteBuffer in;
    private final ByteBuffer plain;

    private HeldBackTls(Socket socket, SSLEngine engine, Channel served, long accepted) {
      this.socket = socket;
      this.engine = engine;
      this.served = served;
      this.accepted = accepted;
      this.in = ByteBuffer.allocate(engine.getSession().getPacketBufferSize()).flip();
      this.plain = ByteBuffer.allocate(engine.getSession().getApplicationBufferSize());
    }

    /**
     * Opens a connection to {@code n}'s gateway port and sends the ClientHello, made before the
     * connection opened, at once; returns once the node's end has its pipeline, so from then the
     * header deadline's first timing has started.
     */
    static HeldBackTls connect(SSLContext context, TestNode n) throws Exception {
      SSLEngine engine = context.createSSLEngine("127.0.0.1", n.port());
      engine.setUseClientMode(true);
      engine.beginHandshake();
      ByteArrayOutputStream hello = new ByteArrayOutputStream();
      wrapWhileNeeded(engine, hello);
      Socket socket = new Socket();
      try {
        socket.connect(new InetSocketAddress("127.0.0.1", n.port()), 5000);
        socket.setSoTimeout(READ_LIMIT_MS);
        socket.getOutputStream().write(hello.toByteArray());
        socket.getOutputStream().flush();
        Channel[] served = new Channel[1];
        await()
            .atMost(Duration.ofSeconds(20))
            .until(
                () ->
                    (served[0] = n.server().connections().find(socket.getLocalSocketAddress()))
                        != null);
        // The pipeline (and with it the deadline's first timing) is built on the connection's
        // event loop before anything submitted to it after the connection was listed.
        served[0].eventLoop().submit(() -> {}).get(20, TimeUnit.SECONDS);
        return new HeldBackTls(socket, engine, served[0], System.nanoTime());
      } catch (Exception | AssertionError e) {
        socket.close();
        throw e;
      }
    }

    /** Reads the node's handshake flights; returns this end's last one, not sent. */
    byte[] handshakeUpToTheLastFlight() throws IOException {
      ByteArrayOutputStream flight = new ByteArrayOutputStream();
      for (int steps = 0; steps < 100; steps++) {
        switch (engine.getHandshakeStatus()) {
          case NEED_UNWRAP -> unwrap();
          case NEED_TASK, NEED_WRAP -> wrapWhileNeeded(engine, flight);
          default -> {
            assertThat(flight.size()).as("the client's last handshake flight").isPositive();
            return flight.toByteArray();
          }
        }
      }
      throw new AssertionError("no end to the handshake: " + engine.getHandshakeStatus());
    }

    /**
     * Waits until the header timeout counted from the accept has passed, with a margin (the accept
     * was before {@link #accepted}): a lower bound only.
     */
    void pastTheTimeoutFromTheAccept(long timeoutMs) throws InterruptedException {
      long until = accepted + TimeUnit.MILLISECONDS.toNanos(timeoutMs + 200);
      for (long left = until - System.nanoTime(); left > 0; left = until - System.nanoTime()) {
        TimeUnit.NANOSECONDS.sleep(left);
      }
      assertThat(served.isActive())
          .as("the connection is still open during the handshake")
          .isTrue();
    }

    /** Sends {@code before} (handshake bytes) and {@code text} encrypted, in one write. */
    void send(byte[] before, String text) throws IOException {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.writeBytes(before);
      ByteBuffer src = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
      ByteBuffer net = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
      while (src.hasRemaining()) {
        net.clear();
        SSLEngineResult r = engine.wrap(src, net);
        assertThat(r.getStatus()).isEqualTo(SSLEngineResult.Status.OK);
        out.write(net.array(), 0, net.position());
      }
      socket.getOutputStream().write(out.toByteArray());
      socket.getOutputStream().flush();
    }

    /** What the node sends (decrypted) until {@code done} holds of it or the connection ends. */
    String readUntil(java.util.function.Predicate<String> done) throws IOException {
      StringBuilder got = new StringBuilder();
      while (!done.test(got.toString())) {
        if (!unwrap()) {
          break;
        }
        plain.flip();
        while (plain.hasRemaining()) {
          got.append((char) (plain.get() & 0xff));
        }
        plain.clear();
        while (engine.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
          engine.getDelegatedTask().run();
        }
      }
      return got.toString();
    }

    /** Unwraps one record, reading the socket as needed; false at its end or a close_notify. */
    private boolean unwrap() throws IOException {
      while (true) {
        SSLEngineResult r = engine.unwrap(in, plain);
        switch (r.getStatus()) {
          case OK -> {
            return true;
          }
          case CLOSED -> {
            return false;
          }
          case BUFFER_UNDERFLOW -> {
            in.compact();
            if (!in.hasRemaining()) {
              ByteBuffer bigger = ByteBuffer.allocate(in.capacity() * 2);
              in.flip();
              in = bigger.put(in);
            }
            int read = socket.getInputStream().read(in.array(), in.position(), in.remaining());
            in.position(in.position() + Math.max(read, 0)).flip();
            if (read < 0) {
              return false;
            }
          }
          default -> throw new IOException("unwrap: " + r);
        }
      }
    }

    /** Runs the engine's tasks and wraps what it has to send into {@code out}. */
    private static void wrapWhileNeeded(SSLEngine engine, ByteArrayOutputStream out)
        throws IOException {
      ByteBuffer net = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
      while (true) {
        switch (engine.getHandshakeStatus()) {
          case NEED_TASK -> engine.getDelegatedTask().run();
          case NEED_WRAP -> {
            net.clear();
            SSLEngineResult r = engine.wrap(ByteBuffer.allocate(0), net);
            if (r.getStatus() != SSLEngineResult.Status.OK) {
              throw new IOException("wrap: " + r);
            }
            out.write(net.array(), 0, net.position());
          }
          default -> {
            return;
          }
        }
      }
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
