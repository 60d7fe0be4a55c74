package org.presence.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.gateway.testing.RawHttp.readResponse;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.testing.LogCapture;
import org.presence.gateway.testing.RawHttp;
import org.presence.gateway.testing.RawWebSocket;
import org.presence.gateway.testing.TestNode;
import org.presence.protocol.error.ErrorCode;

/**
 * {@code gateway.http-header-timeout}: a request's header sent a byte at a time, or not at all,
 * holds a socket for the header timeout (600 ms here), not for the idle timeout (60 s here); what
 * comes after a complete header (a slow body, a slow answer, a WebSocket) and a kept-alive
 * connection waiting for its next request are not timed by it.
 */
class HeaderDeadlineTest {
  private static final long TIMEOUT_MS = 600;

  /**
   * Well under the idle timeout (60 s), far over the header timeout: what ends a connection before
   * it is the header deadline (or, in {@link
   * #aPipelinedPartialHeader_withNoNextRead_endsAtTheIdleTimeout}, that node's idle timeout). No
   * test bounds how soon a connection ends by the clock: a busy machine may run the timer late.
   * Each tells who ended it by what it left (the 408 and its error metric, the deadline's log line,
   * no answer at all) and that it was not before its time.
   */
  private static final int READ_LIMIT_MS = 30_000;

  /**
   * The idle timeout of the node {@link
   * #aPipelinedPartialHeader_withNoNextRead_endsAtTheIdleTimeout} starts.
   */
  private static final long IDLE_MS = 2_000;

  @TempDir Path dataDir;
  TestNode node;

  @BeforeEach
  void start() {
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("gateway.http-header-timeout", TIMEOUT_MS + "ms");
    s.put("gateway.http-idle-timeout", "60s");
    node =
        TestNode.start(
            s,
            routes ->
                routes
                    .webSocket("/ws", TestEndpoints.echo())
                    .get(
                        "/slow",
                        ex ->
                            ex.channel()
                                .eventLoop()
                                .schedule(
                                    () -> ex.respond(HttpResponseStatus.OK, "text/plain", "late"),
                                    3 * TIMEOUT_MS,
                                    TimeUnit.MILLISECONDS))
                    .post(
                        "/echo",
                        ex -> ex.respond(HttpResponseStatus.OK, "text/plain", ex.bodyText())));
  }

  @AfterEach
  void stop() {
    node.close();
  }

  @Test
  void aHeaderSentAByteAtATime_isAnswered408InJson_atTheHeaderTimeout() throws Exception {
    byte[] header =
        ("GET /__version__ HTTP/1.1\r\nHost: x\r\nX-Padding: " + "a".repeat(500))
            .getBytes(StandardCharsets.US_ASCII);
    AtomicInteger sent = new AtomicInteger();
    // Taken before the connect: the node's timer starts at its accept, never before.
    long started = System.nanoTime();
    try (Socket s = connect()) {
      Thread trickle =
          new Thread(
              () -> {
                try {
                  OutputStream out = s.getOutputStream();
                  for (byte b : header) {
                    out.write(b);
                    out.flush();
                    sent.incrementAndGet();
                    Thread.sleep(20);
                  }
                } catch (IOException | InterruptedException e) {
                  // The node ended the connection.
                }
              },
              "trickle");
      trickle.setDaemon(true);
      trickle.start();
      RawHttp.Ending end = readToEnd(s);
      long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      int sentBeforeTheEnd = sent.get();
      trickle.interrupt();
      assertThat(end.answers())
          .startsWith("HTTP/1.1 408 ")
          .containsIgnoringCase("connection: close")
          .contains("\"errno\":107")
          .doesNotContain("\"version\"");
      assertThat(end.how()).isEqualTo(RawHttp.How.END);
      assertThat(timedOutAnswers()).as("408s counted by the header deadline").isEqualTo(1);
      assertThat(tookMs).isGreaterThanOrEqualTo(TIMEOUT_MS - 50);
      // Timed from the first byte, not from each read: the 408 came while the header was still
      // trickling in (all of it takes over 10 s at 20 ms a byte, however busy the machine).
      assertThat(sentBeforeTheEnd).isLessThan(header.length);
    }
  }

  @Test
  void aConnectionThatSendsNothing_isClosedWithoutAnAnswer_atTheHeaderTimeout() throws Exception {
    // Taken before the connect: the node's timer starts at its accept, never before.
    long started = System.nanoTime();
    try (LogCapture log = LogCapture.of(HeaderDeadline.class);
        Socket s = connect()) {
      RawHttp.Ending end = readToEnd(s);
      long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      assertThat(end.answers()).isEmpty();
      assertThat(end.how()).isNotEqualTo(RawHttp.How.TIMEOUT);
      assertThat(tookMs).isGreaterThanOrEqualTo(TIMEOUT_MS - 50);
      // Closed by the header deadline (its line names this connection), not by anything else.
      assertThat(log.lines())
          .anySatisfy(
              l ->
                  assertThat(l)
                      .contains("no request within the header timeout")
                      .contains("R:/127.0.0.1:" + s.getLocalPort() + "]"));
    }
  }

  /**
   * Between requests a kept-alive connection waits for the next one's first byte past the header
   * timeout (the idle timeout bounds that wait); from that byte its header is timed.
   */
  @Test
  void aKeptAliveConnection_waitsForItsNextRequest_thenTimesItsHeader() throws Exception {
    try (Socket s = connect()) {
      OutputStream out = s.getOutputStream();
      String get = "GET /__version__ HTTP/1.1\r\nHost: x\r\n\r\n";
      out.write(get.getBytes(StandardCharsets.US_ASCII));
      assertThat(readResponse(s)).startsWith("HTTP/1.1 200 ");
      Thread.sleep(3 * TIMEOUT_MS);
      out.write(get.getBytes(StandardCharsets.US_ASCII));
      assertThat(readResponse(s)).startsWith("HTTP/1.1 200 ");
      Thread.sleep(3 * TIMEOUT_MS);
      long started = System.nanoTime();
      out.write("GET /__version__ HTTP/1.1\r\nHo".getBytes(StandardCharsets.US_ASCII));
      RawHttp.Ending end = readToEnd(s);
      long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      assertThat(end.answers()).startsWith("HTTP/1.1 408 ").contains("\"errno\":107");
      assertThat(end.how()).isEqualTo(RawHttp.How.END);
      assertThat(timedOutAnswers()).as("408s counted by the header deadline").isEqualTo(1);
      assertThat(tookMs).isGreaterThanOrEqualTo(TIMEOUT_MS - 50);
    }
  }

  /**
   * A request's first bytes that came in one read with the previous request (pipelined) are timed
   * from the next read: the header then has the header timeout from there, as one whose first byte
   * came in that read would.
   */
  @Test
  void aPipelinedPartialHeader_isTimedFromTheNextRead() throws Exception {
    try (Socket s = connect()) {
      OutputStream out = s.getOutputStream();
      out.write(
          "GET /__version__ HTTP/1.1\r\nHost: x\r\n\r\nGET /__version__ HTTP/1.1\r\nHo"
              .getBytes(StandardCharsets.US_ASCII));
      assertThat(readResponse(s)).startsWith("HTTP/1.1 200 ");
      Thread.sleep(3 * TIMEOUT_MS);
      long started = System.nanoTime();
      out.write('s');
      out.flush();
      RawHttp.Ending end = readToEnd(s);
      long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      assertThat(end.answers()).startsWith("HTTP/1.1 408 ").contains("\"errno\":107");
      assertThat(end.how()).isEqualTo(RawHttp.How.END);
      assertThat(timedOutAnswers()).as("408s counted by the header deadline").isEqualTo(1);
      assertThat(tookMs).isGreaterThanOrEqualTo(TIMEOUT_MS - 50);
    }
  }

  /**
   * With no next read, such a partial header holds the connection no longer than an idle kept-alive
   * connection is held (the idle timeout from the last answer): no longer than a client that sent
   * nothing after its answer, then the header's first byte just before the idle timeout, could hold
   * it.
   */
  @Test
  void aPipelinedPartialHeader_withNoNextRead_endsAtTheIdleTimeout() throws Exception {
    node.close();
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("gateway.http-header-timeout", TIMEOUT_MS + "ms");
    s.put("gateway.http-idle-timeout", IDLE_MS + "ms");
    node = TestNode.start(s, routes -> {});
    try (Socket c = connect()) {
      // Timed from before the write: the node's last read and write (the idle timer's start) come
      // after it, and reading the answer here may lag them on a busy machine.
      long started = System.nanoTime();
      c.getOutputStream()
          .write(
              "GET /__version__ HTTP/1.1\r\nHost: x\r\n\r\nGET /__version__ HTTP/1.1\r\nHo"
                  .getBytes(StandardCharsets.US_ASCII));
      assertThat(readResponse(c)).startsWith("HTTP/1.1 200 ");
      RawHttp.Ending end = readToEnd(c);
      long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      assertThat(end.how()).isNotEqualTo(RawHttp.How.TIMEOUT);
      assertThat(end.answers()).isEmpty();
      // Past the header timeout by far, and ended by the idle timeout, not the 408.
      assertThat(timedOutAnswers()).isZero();
      assertThat(tookMs).isGreaterThanOrEqualTo(IDLE_MS - 100);
    }
  }

  /** A body sent slowly and an answer that takes long are not the header's: neither is cut. */
  @Test
  void aSlowBody_andASlowAnswer_areNotTimedByIt() throws Exception {
    try (Socket s = connect()) {
      OutputStream out = s.getOutputStream();
      out.write(
          "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\n"
              .getBytes(StandardCharsets.US_ASCII));
      for (char c : "body".toCharArray()) {
        Thread.sleep(TIMEOUT_MS / 2);
        out.write(c);
        out.flush();
      }
      assertThat(readResponse(s)).startsWith("HTTP/1.1 200 ").endsWith("body");
      out.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(readResponse(s)).startsWith("HTTP/1.1 200 ").endsWith("late");
    }
  }

  @Test
  void aWebSocket_outlivesTheHeaderTimeout() throws Exception {
    try (RawWebSocket ws = RawWebSocket.connect(node.port(), "/ws")) {
      Thread.sleep(3 * TIMEOUT_MS);
      ws.sendText("still here");
      assertThat(ws.readText(Duration.ofSeconds(5), true)).isEqualTo("still here");
    }
  }

  /** The 408s the header deadline answered, by its error metric. */
  private long timedOutAnswers() {
    ErrorCode code = ErrorCode.REQUEST_TIMEOUT;
    return node.server()
        .metrics()
        .registry()
        .counter(GatewayMetrics.ERRORS + code.errno() + "." + code.metricLabel())
        .getCount();
  }

  private Socket connect() throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", node.port()), 5000);
    s.setSoTimeout(READ_LIMIT_MS);
    return s;
  }

  /** Reads until the node ends the connection, or {@link #READ_LIMIT_MS} of quiet. */
  private static RawHttp.Ending readToEnd(Socket s) throws IOException {
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    InputStream in = s.getInputStream();
    byte[] buf = new byte[4096];
    RawHttp.How how;
    try {
      int n;
      while ((n = in.read(buf)) >= 0) {
        got.write(buf, 0, n);
      }
      how = RawHttp.How.END;
    } catch (SocketTimeoutException e) {
      how = RawHttp.How.TIMEOUT;
    } catch (SocketException e) {
      how = RawHttp.How.RESET;
    }
    return new RawHttp.Ending(got.toString(StandardCharsets.ISO_8859_1), how);
  }
}
