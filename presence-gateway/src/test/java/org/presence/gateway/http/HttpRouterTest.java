package org.presence.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.bootstrap.GatewayInitializer;
import org.presence.gateway.config.ConfigLoader;
import org.presence.gateway.config.PresenceConfig;
import org.presence.gateway.connection.Connections;
import org.presence.gateway.error.Disconnector;
import org.presence.gateway.error.ExceptionHandler;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.net.TrustedProxies;
import org.presence.gateway.testing.RawHttp;
import org.presence.gateway.testing.TestNode;

/**
 * {@link HttpRouter} on its own: the gateway's pipeline head ({@link GatewayInitializer}) with a
 * route table of the test's, on a loopback port, spoken to in raw HTTP/1.1. Pins what the router
 * promises: first match wins, decoded path parameters, 404 and 405 (with {@code Allow}) as JSON
 * errors or the browser's error page, HEAD, undecodable addresses refused before any handler runs,
 * handler failures answered, and pipelined requests answered in order.
 */
class HttpRouterTest {
  private static final String NOT_FOUND =
      "{\"result\":false,\"errno\":101,\"reason\":\"Not found\"}";

  @TempDir Path dataDir;
  private EventLoopGroup loops;
  private Channel server;
  private Connections connections;
  private final ScheduledExecutorService later = Executors.newSingleThreadScheduledExecutor();
  private final List<String> handled = new CopyOnWriteArrayList<>();
  private final List<String> pages = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() throws Exception {
    PresenceConfig config = ConfigLoader.load(null, Map.of(), TestNode.baseSettings(dataDir));
    GatewayMetrics metrics = GatewayMetrics.create();
    connections = new Connections(metrics);
    Disconnector disconnector = new Disconnector(metrics);
    HttpRoutes routes =
        HttpRoutes.builder()
            .get("/things/special", ex -> answer(ex, "special"))
            .get("/things/{id}", ex -> answer(ex, "thing " + ex.param("id")))
            .post("/things/{id}", ex -> answer(ex, "posted " + ex.param("id")))
            .get("/n/{n:[0-9]+}", ex -> answer(ex, "number " + ex.param("n")))
            .get("/q", ex -> answer(ex, "q=" + ex.query("v").orElse("-")))
            .get(
                "/slow", ex -> later.schedule(() -> answer(ex, "slow"), 300, TimeUnit.MILLISECONDS))
            .get("/fast", ex -> answer(ex, "fast"))
            .stream("/events", ex -> answer(ex, "events"))
            .get(
                "/boom",
                ex -> {
                  throw new IllegalStateException("secret internals");
                })
            .webSocket(
                "/ws",
                new WebSocketEndpoint() {
                  @Override
                  public Connections.Kind kind() {
                    return Connections.Kind.WEBSOCKET;
                  }

                  @Override
                  public void install(io.netty.channel.ChannelPipeline p, HttpExchange upgrade) {
                    handled.add("ws installed");
                  }
                })
            .build();
    HttpRouter router =
        new HttpRouter(
                routes, config.limits(), metrics, connections, disconnector, TrustedProxies.NONE)
            .withErrorPages(
                (ex, code, reason, more) -> {
                  pages.add(code.name());
                  ex.respond(
                      HttpResponseStatus.valueOf(code.httpStatus()),
                      "text/html; charset=utf-8",
                      io.netty.buffer.Unpooled.copiedBuffer(
                          "<p>" + reason + "</p>", java.nio.charset.StandardCharsets.UTF_8),
                      more);
                });
    loops = new NioEventLoopGroup(1);
    server =
        new ServerBootstrap()
            .group(loops)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new GatewayInitializer(
                    config.gateway(),
                    config.limits(),
                    metrics,
                    connections,
                    router,
                    new ExceptionHandler(disconnector),
                    disconnector))
            .bind("127.0.0.1", 0)
            .sync()
            .channel();
  }

  @AfterEach
  void stop() throws Exception {
    later.shutdownNow();
    // Each connection closed here, not left to the group's shutdown (see UpdateConsumerTest.stop).
    connections.closeAll();
    server.close().sync();
    loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
  }

  private void answer(HttpExchange ex, String text) {
    handled.add(text);
    ex.respond(HttpResponseStatus.OK, "text/plain", text);
  }

  private int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  /** One request (the connection closes after its answer); the raw answer. */
  private String send(String method, String target, String... headers) throws Exception {
    StringBuilder r = new StringBuilder(method + " " + target + " HTTP/1.1\r\nHost: x\r\n");
    for (String h : headers) {
      r.append(h).append("\r\n");
    }
    r.append("Connection: close\r\n\r\n");
    return RawHttp.exchange(port(), r.toString());
  }

  private static String body(String response) {
    return response.substring(response.indexOf("\r\n\r\n") + 4);
  }

  private static String header(String response, String name) {
    for (String line : response.substring(0, response.indexOf("\r\n\r\n")).split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).equalsIgnoreCase(name)) {
        return line.substring(colon + 1).trim();
      }
    }
    return null;
  }

  @Test
  void firstMatchingRouteWins_soALiteralListedFirstBeatsTheParameter() throws Exception {
    assertThat(body(send("GET", "/things/special"))).isEqualTo("special");
    assertThat(body(send("GET", "/things/other"))).isEqualTo("thing other");
    // A trailing slash is the same path.
    assertThat(body(send("GET", "/things/special/"))).isEqualTo("special");
  }

  @Test
  void pathParameters_arePercentDecoded_andMatchedAgainstTheirPattern() throws Exception {
    assertThat(body(send("GET", "/things/a%2Fb%20c"))).isEqualTo("thing a/b c");
    assertThat(body(send("GET", "/n/42"))).isEqualTo("number 42");
    String r = send("GET", "/n/4x2");
    assertThat(r).startsWith("HTTP/1.1 404 ");
    assertThat(body(r)).isEqualTo(NOT_FOUND);
    assertThat(handled).containsExactly("thing a/b c", "number 42");
  }

  @Test
  void unknownPath_is404WithTheJsonReason() throws Exception {
    String r = send("GET", "/nowhere/at/all");
    assertThat(r).startsWith("HTTP/1.1 404 ");
    assertThat(header(r, "content-type")).isEqualTo(HttpExchange.JSON);
    assertThat(body(r)).isEqualTo(NOT_FOUND);
    // More segments than any route: no match either.
    assertThat(send("GET", "/things/a/b")).startsWith("HTTP/1.1 404 ");
    assertThat(handled).isEmpty();
  }

  @Test
  void methodThePathDoesNotTake_is405_withEveryMethodItTakesInAllow() throws Exception {
    String r = send("DELETE", "/things/7");
    assertThat(r).startsWith("HTTP/1.1 405 ");
    assertThat(header(r, "allow")).isEqualTo("GET, HEAD, POST");
    assertThat(body(r))
        .isEqualTo("{\"result\":false,\"errno\":102,\"reason\":\"Method not allowed\"}");
    assertThat(header(send("PUT", "/things/special"), "allow")).isEqualTo("GET, HEAD, POST");
    assertThat(handled).isEmpty();
  }

  /**
   * RFC 9110 (section 9.1: every general-purpose server supports GET and HEAD): a GET route answers
   * HEAD with the GET answer's status and headers, its length among them, and no body; the
   * connection then serves the next request.
   */
  @Test
  void head_onAGetRoute_getsTheGetAnswersHeaders_andNoBody() throws Exception {
    String get = send("GET", "/things/7");
    String head = send("HEAD", "/things/7");
    assertThat(head).startsWith("HTTP/1.1 200 ");
    assertThat(header(head, "content-length")).isEqualTo(header(get, "content-length"));
    assertThat(header(head, "content-type")).isEqualTo("text/plain");
    assertThat(body(head)).isEmpty();
    String both =
        RawHttp.exchange(
            port(),
            "HEAD /things/8 HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /things/9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assertThat(both).doesNotContain("thing 8").endsWith("thing 9");
    assertThat(handled).containsExactly("thing 7", "thing 7", "thing 8", "thing 9");
  }

  /** A stream held open has nothing to end a HEAD answer: 405, and GET is what it takes. */
  @Test
  void head_onAStreamOrAWebSocket_is405() throws Exception {
    for (String path : List.of("/events", "/ws")) {
      String r = send("HEAD", path);
      assertThat(r).as(path).startsWith("HTTP/1.1 405 ");
      assertThat(header(r, "allow")).as(path).isEqualTo("GET");
      assertThat(body(r)).as(path).isEmpty();
    }
    assertThat(handled).isEmpty();
  }

  @Test
  void undecodablePercentEncoding_inPathOrQuery_is400BeforeAnyHandler() throws Exception {
    for (String target : List.of("/things/%zz", "/things/abc%", "/q?v=%E0%A4%A", "/nowhere%g1")) {
      String r = send("GET", target);
      assertThat(r).as(target).startsWith("HTTP/1.1 400 ");
      assertThat(body(r))
          .as(target)
          .isEqualTo(
              "{\"result\":false,\"errno\":100,\"reason\":\"Malformed request:"
                  + " the address is not valid percent-encoding\"}");
    }
    assertThat(handled).isEmpty();
    assertThat(body(send("GET", "/q?v=%41%2Bb"))).isEqualTo("q=A+b");
  }

  /**
   * An address whose bytes are not UTF-8 once decoded (percent-encoded or sent as they are: an
   * overlong form, a surrogate, a stray byte) is refused, never read with replacement characters;
   * so is a query parameter given twice, never read as its first value.
   */
  @Test
  void addressesNotUtf8_orWithAParameterTwice_are400BeforeAnyHandler() throws Exception {
    String raw = new String(new byte[] {(byte) 0xC3, (byte) 0xA9}, StandardCharsets.ISO_8859_1);
    String stray = new String(new byte[] {(byte) 0xFF}, StandardCharsets.ISO_8859_1);
    for (String target :
        List.of("/things/%C0%BC", "/q?v=%ED%A0%80", "/q?v=%F4%90%80%80", "/things/a" + stray)) {
      String r = send("GET", target);
      assertThat(r).as(target).startsWith("HTTP/1.1 400 ");
      assertThat(body(r))
          .as(target)
          .isEqualTo(
              "{\"result\":false,\"errno\":100,\"reason\":\"Malformed request:"
                  + " the address is not valid UTF-8\"}");
    }
    String twice = send("GET", "/q?v=1&v=2");
    assertThat(twice).startsWith("HTTP/1.1 400 ");
    assertThat(body(twice)).contains("\"errno\":14").contains("query parameter given twice");
    assertThat(handled).isEmpty();
    assertThat(utf8(body(send("GET", "/things/%C3%A9")))).isEqualTo("thing \u00e9");
    assertThat(utf8(body(send("GET", "/q?v=" + raw)))).isEqualTo("q=\u00e9");
  }

  /**
   * RFC 9112 section 3.2: an HTTP/1.1 request without a Host, or with two, is 400 (HTTP/1.0 needs
   * none); a header that is read one way only, given twice, is 400 rather than read as its first.
   */
  @Test
  void hostMissingOrTwice_andSingleHeadersTwice_are400BeforeAnyHandler() throws Exception {
    for (String request :
        List.of(
            "GET /fast HTTP/1.1\r\nConnection: close\r\n\r\n",
            "GET /fast HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
            "GET /fast HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\n"
                + "Authorization: Bearer y\r\nConnection: close\r\n\r\n",
            "POST /things/1 HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\n"
                + "Content-Type: application/json\r\nContent-Length: 0\r\n"
                + "Connection: close\r\n\r\n",
            // Header names in any case are the same header.
            "GET /fast HTTP/1.1\r\nhost: a\r\nHOST: b\r\nConnection: close\r\n\r\n",
            "GET /fast HTTP/1.1\r\nHost: a\r\nauthorization: Bearer x\r\n"
                + "AUTHORIZATION: Bearer y\r\nConnection: close\r\n\r\n",
            "POST /things/1 HTTP/1.1\r\nHost: a\r\ncontent-type: text/plain\r\n"
                + "Content-type: application/json\r\nContent-Length: 0\r\n"
                + "Connection: close\r\n\r\n")) {
      String r = RawHttp.exchange(port(), request);
      assertThat(r).as(request).startsWith("HTTP/1.1 400 ");
      assertThat(body(r)).as(request).contains("\"errno\":100");
    }
    assertThat(handled).isEmpty();
    assertThat(RawHttp.exchange(port(), "GET /fast HTTP/1.0\r\n\r\n")).contains("fast");
    assertThat(handled).containsExactly("fast");
  }

  /**
   * What the node cannot read is refused, not read as something else: a compressed body (415), a
   * transfer coding other than chunked (501), an HTTP major version other than 1 (505), a WebSocket
   * handshake over HTTP/1.0 (400, RFC 6455 section 4.1).
   */
  @Test
  void codingsVersionsAndOldHandshakes_theNodeDoesNotServe_areRefused() throws Exception {
    String gzip =
        RawHttp.exchange(
            port(),
            "POST /things/1 HTTP/1.1\r\nHost: a\r\nContent-Encoding: gzip\r\n"
                + "Content-Length: 2\r\nConnection: close\r\n\r\nxx");
    assertThat(gzip).startsWith("HTTP/1.1 415 ");
    assertThat(body(gzip)).contains("\"errno\":104");
    assertThat(
            RawHttp.exchange(
                port(),
                "POST /things/1 HTTP/1.1\r\nHost: a\r\ncontent-encoding: GZIP\r\n"
                    + "Content-Length: 2\r\nConnection: close\r\n\r\nxx"))
        .startsWith("HTTP/1.1 415 ");
    assertThat(
            RawHttp.exchange(
                port(),
                "POST /things/1 HTTP/1.1\r\nHost: a\r\ntransfer-encoding: gzip\r\n"
                    + "TRANSFER-ENCODING: chunked\r\n\r\n2\r\nxx\r\n0\r\n\r\n"))
        .startsWith("HTTP/1.1 501 ");
    String coded =
        RawHttp.exchange(
            port(),
            "POST /things/1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                + "2\r\nxx\r\n0\r\n\r\n");
    assertThat(coded).startsWith("HTTP/1.1 501 ").containsIgnoringCase("connection: close");
    assertThat(RawHttp.exchange(port(), "GET /fast HTTP/2.0\r\nHost: a\r\n\r\n"))
        .startsWith("HTTP/1.1 505 ");
    String old =
        RawHttp.exchange(
            port(),
            "GET /ws HTTP/1.0\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                + "Sec-WebSocket-Version: 13\r\n\r\n");
    assertThat(old).startsWith("HTTP/1.1 400 ").contains("needs HTTP/1.1");
    assertThat(handled).isEmpty();
    // Identity is no coding at all, and chunked alone is served.
    String chunked =
        RawHttp.exchange(
            port(),
            "POST /things/1 HTTP/1.1\r\nHost: a\r\nContent-Encoding: identity\r\n"
                + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + "2\r\nxx\r\n0\r\n\r\n");
    assertThat(chunked).startsWith("HTTP/1.1 200 ");
    assertThat(handled).containsExactly("posted 1");
  }

  /** The bytes of {@code latin1} (as the raw exchange read them) read as UTF-8. */
  private static String utf8(String latin1) {
    return new String(latin1.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
  }

  @Test
  void aHandlerThatThrows_gets500WithoutItsDetail_andTheConnectionServesTheNextRequest()
      throws Exception {
    String r =
        RawHttp.exchange(
            port(),
            "GET /boom HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assertThat(r).startsWith("HTTP/1.1 500 ").doesNotContain("secret internals");
    assertThat(r).contains("\"errno\":500").endsWith("fast");
  }

  @Test
  void pipelinedRequests_areAnsweredInRequestOrder_evenWhenTheFirstAnswersLater() throws Exception {
    String r =
        RawHttp.exchange(
            port(),
            "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /things/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    int slow = r.indexOf("\r\n\r\nslow");
    int fast = r.indexOf("\r\n\r\nfast");
    int thing = r.indexOf("\r\n\r\nthing 3");
    assertThat(slow).as(r).isPositive();
    assertThat(fast).as(r).isGreaterThan(slow);
    assertThat(thing).as(r).isGreaterThan(fast);
    // The second request was not even read while the first was being answered.
    assertThat(handled).containsExactly("slow", "fast", "thing 3");
  }

  @Test
  void webSocketRoute_withoutAnUpgrade_is400_andInstallsNothing() throws Exception {
    String r = send("GET", "/ws");
    assertThat(r).startsWith("HTTP/1.1 400 ");
    assertThat(body(r)).contains("\"errno\":100").contains("WebSocket upgrade required");
    assertThat(handled).isEmpty();
  }

  @Test
  void refusals_areTheErrorPageForABrowser_butJsonUnderApi() throws Exception {
    String html = "Accept: text/html,application/xhtml+xml,*/*;q=0.8";
    String r = send("DELETE", "/things/7", html);
    assertThat(r).startsWith("HTTP/1.1 405 ");
    assertThat(header(r, "content-type")).startsWith("text/html");
    assertThat(header(r, "allow")).isEqualTo("GET, HEAD, POST");
    assertThat(send("GET", "/nowhere", html)).startsWith("HTTP/1.1 404 ");
    assertThat(pages).containsExactly("METHOD_NOT_ALLOWED", "NOT_FOUND");
    String api = send("GET", "/api/nowhere", html);
    assertThat(body(api)).isEqualTo(NOT_FOUND);
    assertThat(pages).hasSize(2);
  }

  @Test
  void aRequestTheCodecCannotParse_is400_andTheConnectionCloses() throws Exception {
    // A valid HTTP/1.1 request line (keep-alive by default), then a header line without a colon:
    // the codec drops whatever the connection sends next, so the answer must close it.
    String r =
        RawHttp.exchange(
            port(),
            "GET /fast HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII),
            10_000);
    assertThat(r).startsWith("HTTP/1.1 400 ");
    assertThat(header(r, "connection")).isEqualTo("close");
    assertThat(body(r)).contains("\"errno\":100");
    assertThat(handled).isEmpty();
  }
}
