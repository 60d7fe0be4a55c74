package org.presence.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.presence.gateway.http.BodyGuardTest.readToEnd;
import static org.presence.gateway.http.BodyGuardTest.send;
import static org.presence.gateway.testing.RawHttp.readResponse;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.TestNode;

/**
 * {@code gateway.max-body-bytes-in-flight} (100,000 bytes here): bodies being aggregated past it,
 * announced or chunked, are refused 503 (errno 501, {@code Retry-After}) and counted, while a small
 * request still passes; what a request held is given back when it ends.
 */
class BodyBudgetTest {
  private static final int CAP = 100_000;

  @TempDir Path dataDir;
  TestNode node;

  @BeforeEach
  void start() {
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("gateway.max-body-bytes-in-flight", Integer.toString(CAP));
    // The cap may not be below the largest body a configured route takes.
    s.put("notifications.max-body-bytes", Integer.toString(CAP));
    // Nothing here is cut by a timeout while the test holds it.
    s.put("gateway.http-body-timeout", "60s");
    s.put("gateway.http-idle-timeout", "60s");
    node =
        TestNode.start(
            s,
            routes ->
                routes.post(
                    "/echo",
                    ex -> ex.respond(HttpResponseStatus.OK, "text/plain", ex.bodyText()),
                    CAP));
  }

  @AfterEach
  void stop() {
    node.close();
  }

  private Socket connect() throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", node.port()), 5_000);
    s.setSoTimeout(20_000);
    return s;
  }

  private static String post(int length) {
    return "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: "
        + length
        + "\r\n\r\n";
  }

  @Test
  void bodiesPastTheCap_get503_aSmallOneStillPasses_andTheBudgetComesBack() throws Exception {
    try (Socket holder = connect()) {
      // 60,000 announced and stalled: held.
      send(holder, post(60_000) + "x");
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> metric("presence_http_body_bytes_in_flight") == 60_000);

      // Another 60,000 would pass the cap: refused on its header, its body unsent.
      try (Socket second = connect()) {
        send(second, post(60_000));
        String answer = readResponse(second);
        assertThat(answer)
            .startsWith("HTTP/1.1 503 ")
            .containsIgnoringCase("retry-after: 1")
            .containsIgnoringCase("connection: close")
            .contains("\"errno\":501");
        assertThat(readToEnd(second)).isEqualTo("END");
      }

      // A chunked body is counted as it arrives: refused once its chunks pass the cap.
      try (Socket chunked = connect()) {
        String chunk = "c".repeat(30_000);
        send(
            chunked,
            "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + Integer.toHexString(chunk.length())
                + "\r\n"
                + chunk
                + "\r\n");
        send(chunked, Integer.toHexString(chunk.length()) + "\r\n" + chunk + "\r\n");
        assertThat(readResponse(chunked)).startsWith("HTTP/1.1 503 ").contains("\"errno\":501");
        assertThat(readToEnd(chunked)).isEqualTo("END");
      }

      // A small request fits beside the held one.
      try (Socket small = connect()) {
        send(small, post(5) + "small");
        assertThat(readResponse(small)).startsWith("HTTP/1.1 200 ").endsWith("small");
      }
      assertThat(metric("presence_http_body_refused")).isEqualTo(2);
    }
    // The holder's connection is gone: its bytes are given back, and a body of 60,000 passes.
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> metric("presence_http_body_bytes_in_flight") == 0);
    try (Socket again = connect()) {
      send(again, post(60_000) + "y".repeat(60_000));
      assertThat(readResponse(again)).startsWith("HTTP/1.1 200 ");
    }
    assertThat(metric("presence_http_body_bytes_in_flight")).isZero();
  }

  /** The value of the unlabelled metric {@code name} (a counter's {@code _total} included). */
  private long metric(String name) {
    String text = node.adminGet("/metrics").body();
    Matcher m = Pattern.compile("(?m)^" + name + "(?:_total)? ([0-9.eE+]+)$").matcher(text);
    assertThat(m.find()).as(name + " in\n" + text).isTrue();
    return (long) Double.parseDouble(m.group(1));
  }
}
