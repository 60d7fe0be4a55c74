package org.presence.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.gateway.testing.RawHttp.readResponse;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.NotifyFixture;
import org.presence.gateway.testing.TestNode;

/**
 * What a request's body may cost before its caller is known, over loopback sockets: a request to a
 * route whose caller is an application with its API key is refused on its header, before a byte of
 * its body is sent; a body that does not arrive whole within {@code gateway.http-body-timeout} gets
 * 408 (errno 107) and the connection ends.
 */
class BodyGuardTest {
  /** Well under the idle timeout (60 s): an answer that waits for the body never comes in it. */
  private static final int READ_LIMIT_MS = 10_000;

  /** The body timeout: well under {@link #READ_LIMIT_MS}. */
  private static final long BODY_TIMEOUT_MS = 1_000;

  @TempDir static Path dataDir;
  static DomainStub site;
  static TestNode node;
  static NotifyFixture.App app;

  @BeforeAll
  static void start() {
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("notifications.max-body-bytes", "1m");
    s.put("gateway.http-idle-timeout", "60s");
    s.put("gateway.http-body-timeout", BODY_TIMEOUT_MS + "ms");
    site = DomainStub.start();
    node =
        TestNode.start(
            s,
            routes ->
                routes.post(
                    "/echo", ex -> ex.respond(HttpResponseStatus.OK, "text/plain", ex.bodyText())));
    app = NotifyFixture.activeApp(node, site, "guard@example.com", "Guarded");
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
    if (site != null) {
      site.close();
    }
  }

  /** A notification POST's header announcing a 1 MiB body, with {@code more} headers. */
  private static String bigPost(long appId, String more) {
    return "POST /"
        + appId
        + "/notification HTTP/1.1\r\nHost: x\r\n"
        + more
        + "Content-Length: 1048576\r\n\r\n";
  }

  @Test
  void aPostWithoutAKey_isRefusedOnItsHeader_beforeAnyBodyByte() throws Exception {
    String answer = answerToHeaderOnly(bigPost(app.id(), "Content-Type: application/json\r\n"));
    assertThat(answer)
        .startsWith("HTTP/1.1 401 ")
        .containsIgnoringCase("connection: close")
        .containsIgnoringCase("www-authenticate: Bearer")
        .contains("\"errno\":110");
  }

  @Test
  void aPostWithAWrongKey_isRefusedOnItsHeader_beforeAnyBodyByte() throws Exception {
    String answer =
        answerToHeaderOnly(
            bigPost(
                app.id(),
                "Authorization: Bearer not-the-key\r\nContent-Type: application/json\r\n"));
    assertThat(answer)
        .startsWith("HTTP/1.1 401 ")
        .containsIgnoringCase("connection: close")
        .containsIgnoringCase("www-authenticate: Bearer")
        .contains("\"errno\":112");
  }

  @Test
  void aPostToAnUnknownApp_orNotJson_isRefusedOnItsHeader() throws Exception {
    assertThat(
            answerToHeaderOnly(
                bigPost(
                    987_654_321L,
                    "Authorization: Bearer "
                        + app.key()
                        + "\r\nContent-Type: application/json\r\n")))
        .startsWith("HTTP/1.1 404 ")
        .contains("\"errno\":130");
    assertThat(
            answerToHeaderOnly(
                bigPost(
                    app.id(),
                    "Authorization: Bearer " + app.key() + "\r\nContent-Type: text/plain\r\n")))
        .startsWith("HTTP/1.1 415 ")
        .contains("\"errno\":104");
  }

  @Test
  void aPresenceBatchWithoutAKey_isRefusedOnItsHeader() throws Exception {
    String answer =
        answerToHeaderOnly(
            "POST /"
                + app.id()
                + "/presence HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Content-Length: 60000\r\n\r\n");
    assertThat(answer).startsWith("HTTP/1.1 401 ").contains("\"errno\":110");
  }

  @Test
  void aPostWithTheKey_isRead_andAnswered() throws Exception {
    String body = "[]";
    try (Socket s = connect()) {
      send(
          s,
          "POST /"
              + app.id()
              + "/notification HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
              + app.key()
              + "\r\nContent-Type: application/json\r\nContent-Length: "
              + body.length()
              + "\r\n\r\n"
              + body);
      // The batch itself is judged: its key and header passed.
      assertThat(readResponse(s)).startsWith("HTTP/1.1 400 ").contains("\"errno\":170");
    }
  }

  /** The header of a notification POST with {@code key} that waits for {@code 100 Continue}. */
  private static String expectingPost(long appId, String key, int length) {
    return "POST /"
        + appId
        + "/notification HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + key
        + "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: "
        + length
        + "\r\n\r\n";
  }

  @Test
  void aRefusedPostExpecting100Continue_getsItsRefusal_andNo100_evenWhenItsCheckWaitsForTheStore()
      throws Exception {
    // Never asked on this node: its key check waits for the store.
    NotifyFixture.App fresh =
        NotifyFixture.activeApp(node, site, "guard-continue@example.com", "Continued");
    for (int i = 0; i < 2; i++) {
      // Not cached, then cached.
      assertThat(answerToHeaderOnly(expectingPost(fresh.id(), "not-the-key", 1_048_576)))
          .startsWith("HTTP/1.1 401 ")
          .containsIgnoringCase("connection: close")
          .contains("\"errno\":112");
    }
    assertThat(answerToHeaderOnly(expectingPost(987_654_322L, app.key(), 1_048_576)))
        .startsWith("HTTP/1.1 404 ")
        .containsIgnoringCase("connection: close")
        .contains("\"errno\":130");
    assertThat(
            answerToHeaderOnly(
                "POST /987654323/presence HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
                    + "Content-Type: application/json\r\nExpect: 100-continue\r\n"
                    + "Content-Length: 60000\r\n\r\n"))
        .startsWith("HTTP/1.1 404 ")
        .contains("\"errno\":130");
  }

  @Test
  void aValidPostExpecting100Continue_gets100_thenItsAnswer() throws Exception {
    NotifyFixture.App fresh =
        NotifyFixture.activeApp(node, site, "guard-continue-ok@example.com", "Continued OK");
    for (int i = 0; i < 2; i++) {
      // Not cached, then cached.
      try (Socket s = connect()) {
        send(s, expectingPost(fresh.id(), fresh.key(), 2));
        assertThat(readResponse(s)).startsWith("HTTP/1.1 100 ");
        send(s, "[]");
        assertThat(readResponse(s)).startsWith("HTTP/1.1 400 ").contains("\"errno\":170");
      }
    }
  }

  @Test
  void aStalledBody_ofAnAuthenticatedPost_gets408_atTheBodyTimeout_andTheConnectionEnds()
      throws Exception {
    try (Socket s = connect()) {
      send(
          s,
          "POST /"
              + app.id()
              + "/notification HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
              + app.key()
              + "\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[{\"UID\":");
      String answer = readResponse(s);
      assertThat(answer)
          .startsWith("HTTP/1.1 408 ")
          .containsIgnoringCase("connection: close")
          .contains("\"errno\":107")
          .contains("body incomplete");
      assertThat(readToEnd(s)).isEqualTo("END");
    }
  }

  @Test
  void aStalledChunkedBody_gets408_andAWholeSlowOneWithinTheTimeout_isAnswered() throws Exception {
    try (Socket s = connect()) {
      send(
          s,
          "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
              + "Transfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n");
      assertThat(readResponse(s)).startsWith("HTTP/1.1 408 ").contains("\"errno\":107");
      assertThat(readToEnd(s)).isEqualTo("END");
    }
    try (Socket s = connect()) {
      send(s, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbo");
      send(s, "dy");
      assertThat(readResponse(s)).startsWith("HTTP/1.1 200 ").endsWith("body");
      // The next request on the kept-alive connection is timed afresh.
      send(s, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok");
      assertThat(readResponse(s)).startsWith("HTTP/1.1 200 ").endsWith("ok");
    }
  }

  /**
   * Sends {@code header} alone, then reads the answer and what follows it: the connection must end
   * (no body byte was ever sent).
   */
  static String answerToHeaderOnly(String header) throws IOException {
    try (Socket s = connect()) {
      send(s, header);
      String answer = readResponse(s);
      assertThat(readToEnd(s)).as("the connection ends after the answer").isEqualTo("END");
      return answer;
    }
  }

  static Socket connect() throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", node.port()), 5_000);
    s.setSoTimeout(READ_LIMIT_MS);
    return s;
  }

  static void send(Socket s, String text) throws IOException {
    OutputStream out = s.getOutputStream();
    out.write(text.getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  /** How the connection ends after what was read: END, TIMEOUT or RESET. */
  static String readToEnd(Socket s) throws IOException {
    InputStream in = s.getInputStream();
    byte[] buf = new byte[4096];
    try {
      while (in.read(buf) >= 0) {
        // dropped
      }
      return "END";
    } catch (SocketTimeoutException e) {
      return "TIMEOUT";
    } catch (SocketException e) {
      return "RESET";
    }
  }
}
