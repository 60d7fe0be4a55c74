package org.presence.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.RawHttp;
import org.presence.gateway.testing.RawWebSocket;
import org.presence.gateway.testing.TestNode;

class HttpBadInputTest {
  @TempDir Path dataDir;
  TestNode node;

  @BeforeEach
  void start() {
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("limits.max-request-bytes", "1k");
    s.put("limits.max-header-bytes", "2k");
    node =
        TestNode.start(
            s,
            routes ->
                routes
                    .post(
                        "/echo",
                        ex ->
                            ex.respond(
                                io.netty.handler.codec.http.HttpResponseStatus.OK,
                                "text/plain",
                                ex.bodyText()))
                    .get(
                        "/boom",
                        ex -> {
                          throw new IllegalStateException("secret internals");
                        }));
  }

  @AfterEach
  void stop() {
    node.close();
  }

  @Test
  void unknownPath_gets404WithJsonReason() {
    HttpResponse<String> r = node.get("/nowhere");
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(r.body()).isEqualTo("{\"result\":false,\"errno\":101,\"reason\":\"Not found\"}");
  }

  @Test
  void wrongMethod_gets405WithAllow() {
    HttpResponse<String> r =
        TestNode.send(HttpRequest.newBuilder(node.uri("/__heartbeat__")).DELETE().build());
    assertThat(r.statusCode()).isEqualTo(405);
    assertThat(r.headers().firstValue("allow")).contains("GET, HEAD");
    assertThat(r.body()).contains("\"errno\":102");
  }

  private static HttpResponse<String> fromBrowser(HttpRequest.Builder request) {
    return TestNode.send(
        request.header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8").build());
  }

  @Test
  void unknownPath_fromABrowser_getsAnHtmlPageInWords() {
    HttpResponse<String> r = fromBrowser(HttpRequest.newBuilder(node.uri("/nowhere")));
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(r.headers().firstValue("content-type").orElseThrow()).startsWith("text/html");
    assertThat(r.headers().firstValue("content-security-policy")).isPresent();
    assertThat(r.body())
        .contains("There is no page at this address.")
        .contains("<details")
        .doesNotContain("errno");
  }

  @Test
  void wrongMethod_fromABrowser_getsAnHtmlPageWithAllow() {
    HttpResponse<String> r =
        fromBrowser(HttpRequest.newBuilder(node.uri("/__heartbeat__")).DELETE());
    assertThat(r.statusCode()).isEqualTo(405);
    assertThat(r.headers().firstValue("allow")).contains("GET, HEAD");
    assertThat(r.headers().firstValue("content-type").orElseThrow()).startsWith("text/html");
    assertThat(r.body()).contains("This page cannot be used that way.").doesNotContain("errno");
  }

  @Test
  void unknownApiPath_fromABrowser_stillGetsJson() {
    HttpResponse<String> r = fromBrowser(HttpRequest.newBuilder(node.uri("/api/nowhere")));
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(r.body()).isEqualTo("{\"result\":false,\"errno\":101,\"reason\":\"Not found\"}");
  }

  @Test
  void favicon_isServed() {
    HttpResponse<String> r = node.get("/favicon.ico");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).contains("image/svg+xml");
    assertThat(r.body()).startsWith("<svg");
  }

  @Test
  void homePage_isTitledPresence_andNamesTheIcon() {
    HttpResponse<String> r = fromBrowser(HttpRequest.newBuilder(node.uri("/")));
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body())
        .contains("<title>Presence</title>")
        .contains("<link rel=\"icon\" href=\"/favicon.ico\"")
        .contains("href=\"#main\"");
  }

  @Test
  void oversizedBody_gets413WithJsonReason() {
    HttpResponse<String> r =
        TestNode.send(
            HttpRequest.newBuilder(node.uri("/echo"))
                .POST(HttpRequest.BodyPublishers.ofString("x".repeat(5000)))
                .build());
    assertThat(r.statusCode()).isEqualTo(413);
    assertThat(r.body()).contains("\"errno\":103");
  }

  /** A browser posting a page's form over the limit gets the error page, in words, as for 404. */
  @Test
  void oversizedBody_fromABrowser_getsAnHtmlPage() {
    HttpResponse<String> r =
        fromBrowser(
            HttpRequest.newBuilder(node.uri("/settings"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("x=" + "x".repeat(5000))));
    assertThat(r.statusCode()).isEqualTo(413);
    assertThat(r.headers().firstValue("content-type").orElseThrow()).startsWith("text/html");
    assertThat(r.body()).doesNotContain("\"errno\"");
  }

  @Test
  void chunkedBodyOverItsRoutesLimit_gets413BeforeTheBodyEnds() throws Exception {
    node.close();
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("limits.max-request-bytes", "1k");
    node =
        TestNode.start(
            s,
            routes ->
                routes
                    .post(
                        "/echo",
                        ex ->
                            ex.respond(
                                io.netty.handler.codec.http.HttpResponseStatus.OK,
                                "text/plain",
                                ex.bodyText()))
                    .post(
                        "/big",
                        ex ->
                            ex.respond(
                                io.netty.handler.codec.http.HttpResponseStatus.OK,
                                "text/plain",
                                "ok"),
                        64 * 1024));
    // 2 KB in chunks to a 1 KB route, and the body never ends: the node must not wait for (and
    // buffer up to) the 64 KB another route allows.
    StringBuilder chunks = new StringBuilder();
    for (int i = 0; i < 4; i++) {
      chunks.append("200\r\n").append("x".repeat(512)).append("\r\n");
    }
    String answer =
        RawHttp.exchange(
            node.port(),
            ("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
                .getBytes(StandardCharsets.ISO_8859_1),
            3000);
    assertThat(answer)
        .startsWith("HTTP/1.1 413")
        .contains("\"errno\":103")
        .contains("limit is 1024 bytes");
    // The larger route still takes its chunked 2 KB.
    String big =
        RawHttp.exchange(
            node.port(),
            ("POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    + chunks
                    + "0\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1),
            3000);
    assertThat(big).startsWith("HTTP/1.1 200");
  }

  @Test
  void bodyWithinLimit_isAccepted() {
    HttpResponse<String> r =
        TestNode.send(
            HttpRequest.newBuilder(node.uri("/echo"))
                .POST(HttpRequest.BodyPublishers.ofString("hello"))
                .build());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("hello");
  }

  @Test
  void malformedRequestLine_gets400JsonAndClose() throws Exception {
    String answer = RawHttp.exchange(node.port(), "THIS IS NOT HTTP\r\n\r\n");
    assertThat(answer)
        .startsWith("HTTP/1.1 400")
        .contains("\"errno\":100")
        .contains("connection: close");
  }

  /** One request with {@code target} and {@code more} headers, on a connection it closes. */
  private String requestTo(String method, String target, String more) throws Exception {
    return RawHttp.exchange(
        node.port(),
        method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + more + "\r\n");
  }

  /**
   * RFC 9112 section 3.2.2: a server MUST accept a target in absolute-form; it is routed by its
   * path and query (it was answered 404), under any host name, and a body is held to its route's
   * limit as in origin-form.
   */
  @Test
  void anAbsoluteFormTarget_isRoutedByItsPathAndQuery() throws Exception {
    String self = "http://127.0.0.1:" + node.port();
    assertThat(requestTo("GET", self + "/__heartbeat__", "")).startsWith("HTTP/1.1 200");
    assertThat(requestTo("GET", "HTTPS://elsewhere.example/__heartbeat__", ""))
        .startsWith("HTTP/1.1 200");
    assertThat(requestTo("GET", self + "/nowhere", ""))
        .startsWith("HTTP/1.1 404")
        .contains("\"errno\":101");
    // Its query is the query: a parameter given twice is refused as in origin-form.
    assertThat(requestTo("GET", self + "/__heartbeat__?a=1&a=2", ""))
        .startsWith("HTTP/1.1 400")
        .contains("query parameter given twice");
    assertThat(requestTo("POST", self + "/echo", "Content-Length: 5\r\n\r\nhello"))
        .startsWith("HTTP/1.1 200")
        .endsWith("hello");
    assertThat(requestTo("POST", self + "/echo", "Content-Length: 2000\r\n\r\n" + "x".repeat(2000)))
        .startsWith("HTTP/1.1 413")
        .contains("limit is 1024 bytes");
    // No path: the root's.
    assertThat(requestTo("GET", "http://x", "Accept: text/html\r\n"))
        .startsWith("HTTP/1.1 200")
        .contains("<title>Presence</title>");
  }

  /**
   * A target in authority-form is for CONNECT only, one in asterisk-form for OPTIONS only (RFC 9112
   * sections 3.2.3, 3.2.4), and an absolute one names an http(s) host without user information (RFC
   * 9110 sections 4.2.1, 4.2.4): any other is 400 in JSON.
   */
  @Test
  void aTargetOfAFormItsMethodMayNotUse_gets400() throws Exception {
    for (String target :
        List.of(
            "127.0.0.1:" + node.port(),
            "*",
            "http://user@x/__heartbeat__",
            "http:///__heartbeat__",
            "ftp://x/__heartbeat__",
            "__heartbeat__")) {
      assertThat(requestTo("GET", target, ""))
          .as(target)
          .startsWith("HTTP/1.1 400")
          .contains("\"errno\":100")
          .contains("the request target is neither a path nor an http(s) address");
    }
    // With their methods they are routed as they are: no route takes them.
    assertThat(requestTo("OPTIONS", "*", "")).startsWith("HTTP/1.1 404");
    assertThat(requestTo("CONNECT", "127.0.0.1:" + node.port(), "")).startsWith("HTTP/1.1 404");
  }

  /**
   * A chunk whose size line (its extensions) is over {@code limits.max-initial-line-bytes} is
   * refused with a reason that names the chunk (it said "request line too long", of a request line
   * well within the limit); a request line over it keeps that reason.
   */
  @Test
  void aChunkSizeLineTooLong_gets400NamingTheChunk_andARequestLineTooLongItsOwn() throws Exception {
    String answer =
        requestTo(
            "POST",
            "/echo",
            "Transfer-Encoding: chunked\r\n\r\n5;ext="
                + "a".repeat(20_000)
                + "\r\nhello\r\n0\r\n\r\n");
    assertThat(answer)
        .startsWith("HTTP/1.1 400")
        .contains("\"errno\":100")
        .contains("chunk size line too long")
        .doesNotContain("request line");
    assertThat(requestTo("GET", "/" + "a".repeat(20_000), ""))
        .startsWith("HTTP/1.1 400")
        .contains("request line too long");
  }

  @Test
  void hugeHeaders_get431() throws Exception {
    String answer =
        RawHttp.exchange(
            node.port(),
            "GET /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(4000) + "\r\n\r\n");
    assertThat(answer).startsWith("HTTP/1.1 431").contains("\"errno\":105");
  }

  @Test
  void handlerFailure_gets500WithoutInternals() {
    HttpResponse<String> r = node.get("/boom");
    assertThat(r.statusCode()).isEqualTo(500);
    assertThat(r.body())
        .isEqualTo("{\"result\":false,\"errno\":500,\"reason\":\"Internal server error\"}");
    assertThat(r.body()).doesNotContain("secret").doesNotContain("Exception");
  }

  @Test
  void pipelinedRequests_areAnsweredInOrder() throws Exception {
    String two =
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst"
            + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecond";
    String answer = RawHttp.exchange(node.port(), two.getBytes(StandardCharsets.ISO_8859_1), 2000);
    assertThat(answer.indexOf("first")).isPositive();
    assertThat(answer.indexOf("second")).isGreaterThan(answer.indexOf("first"));
  }

  /**
   * A client that sends far more requests ahead of their answers than a browser or a proxy ever
   * does: the requests until one is {@link JsonHttpObjectAggregator#MAX_AHEAD} ahead are answered
   * in order, that one is answered 400 in JSON with the reason, and the connection closes (Netty's
   * codec closed it silently after about 50 answers, past 128 requests ahead). The heartbeat is
   * answered once the stores answer, so the burst waits its turn.
   */
  @Test
  void requestsFarAheadOfTheirAnswers_theFirstAreAnswered_thenOne400_thenTheClose()
      throws Exception {
    String burst = "GET /__heartbeat__ HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1_000);
    String answers =
        RawHttp.exchange(node.port(), burst.getBytes(StandardCharsets.ISO_8859_1), 3000);
    List<String> statuses = new java.util.ArrayList<>();
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("HTTP/1\\.1 (\\d{3})").matcher(answers);
    while (m.find()) {
      statuses.add(m.group(1));
    }
    int n = statuses.size();
    // However many were answered before the client got that far ahead (the burst arrives in
    // several reads), never all of them, and never fewer than the limit.
    assertThat(n)
        .as("%s", statuses)
        .isGreaterThan(JsonHttpObjectAggregator.MAX_AHEAD)
        .isLessThan(1_000);
    assertThat(statuses.subList(0, n - 1)).containsOnly("200");
    assertThat(statuses.get(n - 1)).isEqualTo("400");
    assertThat(answers.substring(answers.lastIndexOf("HTTP/1.1 400")))
        .containsIgnoringCase("connection: close")
        .contains("\"errno\":100")
        .contains("requests sent ahead of their answers");
  }

  /**
   * The same client going on sending after it went too far ahead: its refusal still comes in its
   * turn, then the end. What it sends after the refusal is dropped before it is decoded (it filled
   * the codec's queue of requests waiting for answers, and the codec cut the connection off before
   * the refusal's turn).
   */
  @Test
  void requestsFarAheadOfTheirAnswers_andStillComing_getTheir400_thenTheEnd() throws Exception {
    String burst = "GET /__heartbeat__ HTTP/1.1\r\nHost: x\r\n\r\n".repeat(20_000);
    RawHttp.Ending end =
        RawHttp.untilTheEnd(node.port(), burst.getBytes(StandardCharsets.ISO_8859_1), 10_000);
    List<String> statuses = new java.util.ArrayList<>();
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("HTTP/1\\.1 (\\d{3})").matcher(end.answers());
    while (m.find()) {
      statuses.add(m.group(1));
    }
    assertThat(statuses).hasSizeGreaterThan(JsonHttpObjectAggregator.MAX_AHEAD);
    assertThat(statuses.get(statuses.size() - 1)).as("%s", statuses).isEqualTo("400");
    assertThat(end.how()).isEqualTo(RawHttp.How.END);
  }

  @Test
  void webSocketRoute_withoutUpgrade_gets400() {
    node.close();
    node =
        TestNode.start(
            TestNode.baseSettings(dataDir),
            routes -> routes.webSocket("/ws", TestEndpoints.echo()));
    HttpResponse<String> r = node.get("/ws");
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("WebSocket upgrade required");
    // A browser opening the address gets a page that says so.
    HttpResponse<String> page = fromBrowser(HttpRequest.newBuilder(node.uri("/ws")));
    assertThat(page.statusCode()).isEqualTo(400);
    assertThat(page.headers().firstValue("content-type").orElseThrow()).startsWith("text/html");
    assertThat(page.body()).contains("WebSocket upgrade required").doesNotContain("errno");
  }

  /**
   * A WebSocket route upgrades whatever its address carries (a query, escapes: it waited ten
   * seconds for nothing before), and every handshake Netty would refuse in plain text or serve in a
   * form the node does not speak (hixie-76) is refused in JSON, errno 100, before any upgrade.
   */
  @Test
  void webSocketHandshakes_withQueriesAndEscapesUpgrade_andBadOnesAreRefusedInJson()
      throws Exception {
    node.close();
    node =
        TestNode.start(
            TestNode.baseSettings(dataDir),
            routes ->
                routes
                    .webSocket("/ws", TestEndpoints.echo())
                    .webSocket("/ws/{name}", TestEndpoints.echo()));
    for (String path : List.of("/ws?x=1", "/ws?", "/ws/%41%42", "/ws/a?b=%20")) {
      try (RawWebSocket ws = RawWebSocket.connect(node.port(), path)) {
        ws.sendText("hello");
        assertThat(ws.readText(Duration.ofSeconds(5), true)).as(path).isEqualTo("hello");
      }
    }
    String start = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n";
    String key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    Map<String, String> refused =
        Map.of(
            start + "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
            "Sec-WebSocket-Key",
            start + "Sec-WebSocket-Version: 13\r\n" + key + "\r\n",
            "Connection: Upgrade",
            start + "Connection: Upgrade\r\nSec-WebSocket-Version: 99\r\n" + key + "\r\n",
            "version 13",
            start
                + "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Key: abc\r\n\r\n",
            "Sec-WebSocket-Key",
            // hixie-76: two numbered keys, no version, eight bytes of body.
            start
                + "Connection: Upgrade\r\nOrigin: http://x\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5"
                + "\r\nSec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n\r\n^n:ds[4U",
            "version 13");
    for (Map.Entry<String, String> r : refused.entrySet()) {
      String answer =
          RawHttp.exchange(node.port(), r.getKey().getBytes(StandardCharsets.ISO_8859_1), 1500);
      assertThat(answer)
          .as(r.getKey())
          .startsWith("HTTP/1.1 400")
          .contains("\"errno\":100")
          .contains(r.getValue());
      if (r.getValue().equals("version 13")) {
        assertThat(answer).containsIgnoringCase("sec-websocket-version: 13");
      }
    }
  }
}
