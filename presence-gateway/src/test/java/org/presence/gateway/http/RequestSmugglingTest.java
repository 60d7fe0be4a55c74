package org.presence.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.presence.gateway.testing.RawHttp;
import org.presence.gateway.testing.TestNode;

/**
 * A request the node refuses before reading its body (an {@code Expect} it does not serve, a body
 * announced over the limit) gets its JSON answer and ends the connection: the body, whatever it
 * holds, is never read as the next request. Netty's own answers to these (an empty 417 or 413 on a
 * connection it keeps) had its decoder read the body as requests, so a request hidden in a body was
 * served.
 */
class RequestSmugglingTest {
  private static final Pattern STATUS = Pattern.compile("HTTP/1\\.1 (\\d{3})");

  /** A request that must never be served: its answer would carry the node's version. */
  private static final String HIDDEN = "GET /__version__ HTTP/1.1\r\nHost: x\r\n\r\n";

  @TempDir Path dataDir;
  TestNode node;

  @BeforeEach
  void start() {
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("limits.max-request-bytes", "4k");
    node = TestNode.start(s, r -> {});
  }

  @AfterEach
  void stop() {
    node.close();
  }

  @Test
  void anUnservedExpectation_isAnswered417InJson_andItsBodyIsNeverARequest() throws Exception {
    String answer =
        exchange(
            "PUT /api/settings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Content-Length: "
                + HIDDEN.length()
                + "\r\nExpect: something-else\r\n\r\n"
                + HIDDEN);
    assertThat(statuses(answer)).containsExactly("417");
    assertThat(answer)
        .containsIgnoringCase("connection: close")
        .contains("\"errno\":100")
        .doesNotContain("\"version\"");
  }

  @Test
  void aBodyOverTheLimitExpectingContinue_isAnswered413InJson_andNeverReadAsRequests()
      throws Exception {
    String body = HIDDEN.repeat(200);
    String answer =
        exchange(
            "POST /api/apps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Content-Length: "
                + body.length()
                + "\r\nExpect: 100-continue\r\n\r\n"
                + body);
    assertThat(statuses(answer)).containsExactly("413");
    assertThat(answer)
        .containsIgnoringCase("connection: close")
        .contains("\"errno\":103")
        .doesNotContain("100 Continue")
        .doesNotContain("\"version\"");
  }

  @Test
  void aBodyOverTheLimit_isAnswered413InJson_andWhatFollowsIsNeverARequest() throws Exception {
    String body = "x".repeat(5_000);
    String answer =
        exchange(
            "POST /api/apps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Content-Length: "
                + body.length()
                + "\r\n\r\n"
                + body
                + HIDDEN);
    assertThat(statuses(answer)).containsExactly("413");
    assertThat(answer).contains("\"errno\":103").doesNotContain("\"version\"");
  }

  /**
   * A length that is not a number, with {@code Expect}: the codec's own refusal (400, errno 100),
   * not a failure of the aggregator that closed the connection without an answer.
   */
  @Test
  void anExpectationWithALengthThatIsNotANumber_isAnswered400() throws Exception {
    String answer =
        exchange(
            "PUT /api/settings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Content-Length: 99999999999999999999\r\nExpect: 100-continue\r\n\r\n"
                + HIDDEN);
    assertThat(statuses(answer)).containsExactly("400");
    assertThat(answer).contains("\"errno\":100").doesNotContain("\"version\"");
  }

  @Test
  void aBodyWithinTheLimitExpectingContinue_getsContinue_thenItsAnswer() throws Exception {
    try (Socket s = new Socket("127.0.0.1", node.port())) {
      s.setSoTimeout(5_000);
      s.getOutputStream()
          .write(
              ("PUT /api/settings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      + "Content-Length: 2\r\nExpect: 100-continue\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      byte[] buf = new byte[256];
      int n = s.getInputStream().read(buf);
      assertThat(new String(buf, 0, n, StandardCharsets.US_ASCII))
          .startsWith("HTTP/1.1 100 Continue");
      s.getOutputStream().write("{}".getBytes(StandardCharsets.US_ASCII));
      n = s.getInputStream().read(buf);
      // No token: the request itself is answered, 401, on a connection that stays open.
      assertThat(new String(buf, 0, n, StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 401");
    }
  }

  /**
   * A refusal is an answer like any other: it comes after the answers to the requests pipelined
   * before it (it was written ahead of them, and the client took it for the first request's answer
   * and lost that answer to the close).
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("refusedRequests")
  void aRefusal_comesAfterTheAnswersToTheRequestsBeforeIt(String status, String refused)
      throws Exception {
    String first = "GET /__heartbeat__ HTTP/1.1\r\nHost: x\r\n\r\n";
    RawHttp.Ending end =
        RawHttp.untilTheEnd(
            node.port(), (first + first + refused).getBytes(StandardCharsets.US_ASCII), 5_000);
    assertThat(statuses(end.answers())).containsExactly("200", "200", status);
    assertThat(end.how()).isEqualTo(RawHttp.How.END);
    assertThat(end.answers()).doesNotContain("\"version\"");
  }

  static Stream<Arguments> refusedRequests() {
    String body = HIDDEN.repeat(200);
    return Stream.of(
        Arguments.of(
            "417",
            "PUT /api/settings HTTP/1.1\r\nHost: x\r\nContent-Length: "
                + HIDDEN.length()
                + "\r\nExpect: something-else\r\n\r\n"
                + HIDDEN),
        Arguments.of(
            "413",
            "POST /api/apps HTTP/1.1\r\nHost: x\r\nContent-Length: "
                + body.length()
                + "\r\n\r\n"
                + body),
        Arguments.of(
            "413",
            "POST /api/apps HTTP/1.1\r\nHost: x\r\nContent-Length: "
                + body.length()
                + "\r\nExpect: 100-continue\r\n\r\n"
                + body),
        Arguments.of(
            "413",
            "POST /api/apps HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + Integer.toHexString(body.length())
                + "\r\n"
                + body
                + "\r\n0\r\n\r\n"));
  }

  /**
   * An answer that ends the connection (the client asked for it) while the client is still sending:
   * the client reads the whole answer, then the end, not a reset (closing with its input unread
   * made the kernel reset the connection, and an answer not yet read could be lost).
   */
  @Test
  void aClosingAnswer_toAClientStillSending_isFollowedByTheEnd_notAReset() throws Exception {
    String request =
        "GET /__heartbeat__ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            + "x".repeat(256 * 1024);
    RawHttp.Ending end =
        RawHttp.untilTheEnd(node.port(), request.getBytes(StandardCharsets.US_ASCII), 5_000);
    assertThat(statuses(end.answers())).containsExactly("200");
    assertThat(end.how()).isEqualTo(RawHttp.How.END);
  }

  /** Sends {@code request} in one write and reads every answer until the node closes. */
  private String exchange(String request) throws IOException {
    try (Socket s = new Socket("127.0.0.1", node.port())) {
      s.setSoTimeout(5_000);
      s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[4096];
      try {
        for (int n; (n = in.read(buf)) >= 0; ) {
          got.write(buf, 0, n);
        }
      } catch (SocketTimeoutException e) {
        throw new AssertionError("the node kept the connection: " + got, e);
      } catch (IOException e) {
        // Reset after the answer (the node dropped what it did not read): what came is the answer.
      }
      return got.toString(StandardCharsets.US_ASCII);
    }
  }

  private static java.util.List<String> statuses(String answers) {
    java.util.List<String> out = new java.util.ArrayList<>();
    Matcher m = STATUS.matcher(answers);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }
}
