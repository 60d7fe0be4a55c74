package org.presence.gateway.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.presence.gateway.config.OutboundConfig;
import org.presence.gateway.outbound.AddressPolicy;
import org.presence.gateway.outbound.GuardedHttpClient;
import org.presence.gateway.outbound.OutboundException;
import org.presence.gateway.testing.DomainStub;

class GuardedHttpClientTest {
  private GuardedHttpClient client;
  private DomainStub site;
  private final List<AutoCloseable> closeLater = new ArrayList<>();

  @BeforeEach
  void start() {
    client =
        new GuardedHttpClient(
            new OutboundConfig(true, false, false, Duration.ofSeconds(2), 2),
            new AddressPolicy(true, false, false));
    site = DomainStub.start();
  }

  @AfterEach
  void stop() throws Exception {
    client.close();
    site.close();
    for (AutoCloseable c : closeLater) {
      c.close();
    }
  }

  private GuardedHttpClient.Response get(String url, int max, Duration timeout) throws Exception {
    return client
        .send(GuardedHttpClient.Request.get(URI.create(url), max, timeout))
        .toCompletableFuture()
        .get(30, TimeUnit.SECONDS);
  }

  private OutboundException.Failure failure(String url, int max, Duration timeout) {
    try {
      get(url, max, timeout);
      throw new AssertionError("expected a failure for " + url);
    } catch (ExecutionException e) {
      return ((OutboundException) e.getCause()).failure();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void send_whenSiteAnswers_thenStatusTypeAndBodyWithTheHostHeader() throws Exception {
    site.serve("/x", new DomainStub.Answer(200, "text/plain", "hello", Map.of()));
    GuardedHttpClient.Response r =
        get("http://" + site.domain() + "/x?a=1", 1024, Duration.ofSeconds(5));
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.contentType()).isEqualTo("text/plain");
    assertThat(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo("hello");
    assertThat(site.requests()).containsExactly("GET /x?a=1 Host=" + site.domain());
  }

  @Test
  void send_whenBodyOverTheCap_thenTooLarge() {
    site.serve("/big", new DomainStub.Answer(200, "text/plain", "x".repeat(10_000), Map.of()));
    assertThat(failure("http://" + site.domain() + "/big", 4096, Duration.ofSeconds(5)))
        .isEqualTo(OutboundException.Failure.TOO_LARGE);
  }

  @Test
  void send_whenServerNeverAnswers_thenTimeout() throws Exception {
    ServerSocket silent = new ServerSocket(0, 5, java.net.InetAddress.getLoopbackAddress());
    closeLater.add(silent);
    List<Socket> accepted = new ArrayList<>();
    Thread t =
        new Thread(
            () -> {
              try {
                while (true) {
                  accepted.add(silent.accept());
                }
              } catch (Exception e) {
                // closed
              }
            });
    t.setDaemon(true);
    t.start();
    assertThat(
            failure(
                "http://127.0.0.1:" + silent.getLocalPort() + "/", 1024, Duration.ofMillis(300)))
        .isEqualTo(OutboundException.Failure.TIMEOUT);
  }

  /** A server on loopback that answers every connection with {@code raw} and closes it. */
  private int rawServer(String raw) throws Exception {
    ServerSocket server = new ServerSocket(0, 5, java.net.InetAddress.getLoopbackAddress());
    closeLater.add(server);
    Thread t =
        new Thread(
            () -> {
              try {
                while (true) {
                  try (Socket s = server.accept()) {
                    s.getInputStream().read(new byte[4096]);
                    s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
                    s.getOutputStream().flush();
                  }
                }
              } catch (Exception e) {
                // closed
              }
            });
    t.setDaemon(true);
    t.start();
    return server.getLocalPort();
  }

  @Test
  void send_whenA200AnswerIsMalformed_thenProtocolFailure() throws Exception {
    // A body cut short of its Content-Length, a bad chunk size, a control character in a header:
    // each starts with "200 OK" and none is an answer.
    for (String raw :
        List.of(
            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\nshort",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Bad\u0001Name: 1\r\n\r\nok")) {
      int port = rawServer(raw);
      assertThat(failure("http://127.0.0.1:" + port + "/", 1024, Duration.ofSeconds(5)))
          .as(raw)
          .isEqualTo(OutboundException.Failure.PROTOCOL);
    }
    // A well-formed answer from the same kind of server is one.
    int port = rawServer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assertThat(get("http://127.0.0.1:" + port + "/", 1024, Duration.ofSeconds(5)).status())
        .isEqualTo(200);
  }

  /**
   * Interim answers (1xx) are not the answer: the final one after them is; a site that sends only
   * interim answers, or a 101 never asked for, gives none.
   */
  @Test
  void send_whenInterimAnswersComeFirst_thenTheFinalAnswerIsTaken() throws Exception {
    String cont = "HTTP/1.1 100 Continue\r\n\r\n";
    String hints = "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n";
    int port = rawServer(cont + hints + cont + "HTTP/1.1 204 No Content\r\n\r\n");
    assertThat(get("http://127.0.0.1:" + port + "/", 1024, Duration.ofSeconds(5)).status())
        .isEqualTo(204);
    for (String raw :
        List.of(
            cont.repeat(20) + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            cont.repeat(3),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n")) {
      int p = rawServer(raw);
      assertThat(failure("http://127.0.0.1:" + p + "/", 1024, Duration.ofSeconds(5)))
          .as(raw)
          .isEqualTo(OutboundException.Failure.PROTOCOL);
    }
  }

  @Test
  void send_whenNothingListens_thenConnectFailed() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    assertThat(failure("http://127.0.0.1:" + port + "/", 1024, Duration.ofSeconds(5)))
        .isEqualTo(OutboundException.Failure.CONNECT_FAILED);
  }

  @Test
  void send_whenRedirectedOnTheSameHost_thenFollowsUpToTheLimit() throws Exception {
    site.serve("/a", new DomainStub.Answer(301, null, "", Map.of("Location", "/b")));
    site.serve(
        "/b",
        new DomainStub.Answer(302, null, "", Map.of("Location", "http://" + site.domain() + "/c")));
    site.serve("/c", new DomainStub.Answer(200, "text/plain", "end", Map.of()));
    assertThat(
            new String(
                get("http://" + site.domain() + "/a", 100, Duration.ofSeconds(5)).body(),
                StandardCharsets.UTF_8))
        .isEqualTo("end");
    site.serve("/loop", new DomainStub.Answer(302, null, "", Map.of("Location", "/loop")));
    assertThat(failure("http://" + site.domain() + "/loop", 100, Duration.ofSeconds(5)))
        .isEqualTo(OutboundException.Failure.REDIRECT_REFUSED);
  }

  @Test
  void send_whenRedirectedToAnotherHost_thenRefusedWithoutFollowing() {
    site.serve(
        "/a",
        new DomainStub.Answer(
            302, null, "", Map.of("Location", "http://localhost:" + site.port() + "/b")));
    assertThat(failure("http://" + site.domain() + "/a", 100, Duration.ofSeconds(5)))
        .isEqualTo(OutboundException.Failure.REDIRECT_REFUSED);
    assertThat(site.requests()).hasSize(1);
  }

  @Test
  void send_whenAddressRefused_thenNoConnection() throws Exception {
    GuardedHttpClient strict =
        new GuardedHttpClient(
            new OutboundConfig(false, false, false, Duration.ofSeconds(2), 2),
            new AddressPolicy(false, false, false));
    try {
      var f =
          strict.send(
              GuardedHttpClient.Request.get(
                  URI.create("http://" + site.domain() + "/"), 100, Duration.ofSeconds(5)));
      try {
        f.toCompletableFuture().get(10, TimeUnit.SECONDS);
        throw new AssertionError("loopback allowed");
      } catch (ExecutionException e) {
        assertThat(((OutboundException) e.getCause()).failure())
            .isEqualTo(OutboundException.Failure.ADDRESS_NOT_ALLOWED);
      }
      assertThat(site.requests()).isEmpty();
    } finally {
      strict.close();
    }
  }

  @Test
  void send_whenUrlIsNotHttpOrHasUserInfo_thenBadUrl() {
    assertThat(failure("ftp://" + site.domain() + "/", 100, Duration.ofSeconds(5)))
        .isEqualTo(OutboundException.Failure.BAD_URL);
    assertThat(failure("http://u:p@" + site.domain() + "/", 100, Duration.ofSeconds(5)))
        .isEqualTo(OutboundException.Failure.BAD_URL);
  }

  @Test
  void check_resolvesAndAppliesThePolicy() throws Exception {
    assertThat(
            client
                .check(URI.create("http://127.0.0.1:1/"))
                .toCompletableFuture()
                .get(10, TimeUnit.SECONDS)
                .isLoopbackAddress())
        .isTrue();
    try {
      client.check(URI.create("http://10.9.8.7/")).toCompletableFuture().get(10, TimeUnit.SECONDS);
      throw new AssertionError("private allowed");
    } catch (ExecutionException e) {
      assertThat(((OutboundException) e.getCause()).failure())
          .isEqualTo(OutboundException.Failure.ADDRESS_NOT_ALLOWED);
    }
  }
}
