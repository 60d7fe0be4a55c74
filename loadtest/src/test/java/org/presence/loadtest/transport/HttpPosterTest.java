package org.presence.loadtest.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.presence.loadtest.targets.ClientException;

/**
 * The harness's poster against a small HTTP server on loopback whose paths answer in different
 * ways: {@code /echo} answers the body and the Authorization header, {@code /last} the same with
 * {@code Connection: close}, {@code /drop} closes without an answer, {@code /silent} never answers.
 */
class HttpPosterTest {
  private final Transport transport = Transport.best();
  private EventLoopGroup server;
  private EventLoopGroup client;
  private Channel listener;
  private final AtomicInteger connections = new AtomicInteger();
  private URI base;

  @BeforeEach
  void start() throws Exception {
    server = transport.group(1, "test-server");
    client = transport.group(1, "test-client");
    listener =
        new ServerBootstrap()
            .group(server)
            .channel(transport.serverChannel())
            .childHandler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    connections.incrementAndGet();
                    ch.pipeline()
                        .addLast(new HttpServerCodec())
                        .addLast(new HttpObjectAggregator(1 << 16))
                        .addLast(new Answers());
                  }
                })
            .bind("127.0.0.1", 0)
            .sync()
            .channel();
    base =
        URI.create("http://127.0.0.1:" + ((InetSocketAddress) listener.localAddress()).getPort());
  }

  @AfterEach
  void stop() throws Exception {
    listener.close().sync();
    Transport.shutDown(client, Duration.ofSeconds(1)).sync();
    Transport.shutDown(server, Duration.ofSeconds(1)).sync();
  }

  private static final class Answers extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      String path = req.uri();
      if (path.startsWith("/drop")) {
        ctx.close();
        return;
      }
      if (path.startsWith("/silent")) {
        return;
      }
      String text =
          req.method()
              + " "
              + path
              + " "
              + req.headers().get(HttpHeaderNames.AUTHORIZATION)
              + " "
              + req.headers().get(HttpHeaderNames.CONTENT_TYPE)
              + " "
              + req.content().toString(StandardCharsets.UTF_8);
      FullHttpResponse res =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1,
              path.startsWith("/refuse") ? HttpResponseStatus.FORBIDDEN : HttpResponseStatus.OK,
              Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
      res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, res.content().readableBytes());
      if (path.startsWith("/last")) {
        res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(res).addListener(f -> ctx.close());
      } else {
        ctx.writeAndFlush(res);
      }
    }
  }

  private static ByteBuf body(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
  }

  private HttpPoster poster(Duration timeout) {
    return new HttpPoster(transport, SourceAddresses.any(), timeout);
  }

  private static String text(HttpPoster.Answer a) {
    return new String(a.body(), StandardCharsets.UTF_8);
  }

  private HttpPoster.Answer post(HttpPoster p, EventLoop loop, String path, String body)
      throws Exception {
    return p.post(loop, base.resolve(path), "Bearer k", "application/json", body(body))
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
  }

  /** {@code post} fails with a {@link ClientException} of {@code kind}. */
  private static void assertFailsWith(String kind, ThrowingCallable post) {
    assertThatThrownBy(post)
        .isInstanceOf(ExecutionException.class)
        .cause()
        .isInstanceOf(ClientException.class)
        .satisfies(e -> assertThat(((ClientException) e).kind()).isEqualTo(kind));
  }

  private int idleOn(HttpPoster p, EventLoop loop) throws Exception {
    return loop.submit(() -> p.idleConnections(loop)).get(5, TimeUnit.SECONDS);
  }

  @Test
  void post_sendsMethodPathHeadersAndBody_andAnswersOnTheCallersLoop() throws Exception {
    HttpPoster p = poster(Duration.ofSeconds(5));
    EventLoop loop = client.next();
    CompletableFuture<Boolean> onLoop = new CompletableFuture<>();
    CompletableFuture<HttpPoster.Answer> answer = new CompletableFuture<>();
    // Posted from the loop itself, so that the callback is registered before any answer.
    loop.execute(
        () ->
            p.post(
                    loop,
                    base.resolve("/echo?x=1"),
                    "Bearer k",
                    "application/json",
                    body("{\"a\":1}"))
                .whenComplete(
                    (r, e) -> {
                      onLoop.complete(loop.inEventLoop());
                      answer.complete(r);
                    }));
    HttpPoster.Answer a = answer.get(10, TimeUnit.SECONDS);
    assertThat(a.status()).isEqualTo(200);
    assertThat(text(a)).isEqualTo("POST /echo?x=1 Bearer k application/json {\"a\":1}");
    assertThat(onLoop.get(5, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void posts_oneAfterAnother_reuseOneConnection() throws Exception {
    HttpPoster p = poster(Duration.ofSeconds(5));
    EventLoop loop = client.next();
    for (int i = 0; i < 5; i++) {
      assertThat(text(post(p, loop, "/echo", "n" + i))).endsWith(" n" + i);
    }
    assertThat(connections.get()).isEqualTo(1);
    assertThat(idleOn(p, loop)).isEqualTo(1);
  }

  @Test
  void postsInFlightTogether_eachGetItsOwnConnection_andTheirOwnAnswer() throws Exception {
    HttpPoster p = poster(Duration.ofSeconds(5));
    EventLoop loop = client.next();
    CompletableFuture<?>[] all = new CompletableFuture<?>[4];
    // Made in one task of the loop, so that no answer can be read (and its connection reused)
    // before the last post is made, however slowly the test's own thread runs.
    loop.submit(
            () -> {
              for (int i = 0; i < all.length; i++) {
                all[i] =
                    p.post(loop, base.resolve("/echo"), null, "text/plain", body("b" + i))
                        .toCompletableFuture();
              }
            })
        .get(10, TimeUnit.SECONDS);
    for (int i = 0; i < all.length; i++) {
      HttpPoster.Answer a = (HttpPoster.Answer) all[i].get(10, TimeUnit.SECONDS);
      assertThat(text(a)).isEqualTo("POST /echo null text/plain b" + i);
    }
    assertThat(connections.get()).isEqualTo(4);
    assertThat(idleOn(p, loop)).isEqualTo(4);
  }

  @Test
  void anErrorStatus_isAnAnswer_withItsBody() throws Exception {
    HttpPoster.Answer a = post(poster(Duration.ofSeconds(5)), client.next(), "/refuse", "x");
    assertThat(a.status()).isEqualTo(403);
    assertThat(text(a)).startsWith("POST /refuse");
  }

  @Test
  void anAnswerWithConnectionClose_dropsTheConnection_andTheNextPostOpensAnother()
      throws Exception {
    HttpPoster p = poster(Duration.ofSeconds(5));
    EventLoop loop = client.next();
    assertThat(post(p, loop, "/last", "1").status()).isEqualTo(200);
    assertThat(idleOn(p, loop)).isZero();
    assertThat(post(p, loop, "/echo", "2").status()).isEqualTo(200);
    assertThat(connections.get()).isEqualTo(2);
  }

  @Test
  void aConnectionClosedWithoutAnAnswer_failsThePostAsClosed_andIsNotReused() throws Exception {
    HttpPoster p = poster(Duration.ofSeconds(5));
    EventLoop loop = client.next();
    assertFailsWith("closed", () -> post(p, loop, "/drop", "1"));
    assertThat(idleOn(p, loop)).isZero();
    assertThat(post(p, loop, "/echo", "2").status()).isEqualTo(200);
  }

  @Test
  void noAnswerWithinTheTimeout_failsThePostAsTimeout_andClosesItsConnection() throws Exception {
    HttpPoster p = poster(Duration.ofMillis(300));
    EventLoop loop = client.next();
    assertFailsWith("timeout", () -> post(p, loop, "/silent", "1"));
    assertThat(idleOn(p, loop)).isZero();
    assertThat(post(p, loop, "/echo", "2").status()).isEqualTo(200);
    assertThat(connections.get()).isEqualTo(2);
  }

  @Test
  void anFtpUri_failsAsUnsupported_withoutConnecting() throws Exception {
    HttpPoster p = poster(Duration.ofSeconds(5));
    URI https = URI.create("ftp://127.0.0.1:" + base.getPort() + "/echo");
    assertFailsWith(
        "unsupported-scheme",
        () ->
            p.post(client.next(), https, null, "text/plain", body("1"))
                .toCompletableFuture()
                .get(10, TimeUnit.SECONDS));
    assertThat(connections.get()).isZero();
  }

  @Test
  void noServer_failsThePostAsRefused() throws Exception {
    listener.close().sync();
    HttpPoster p = poster(Duration.ofSeconds(5));
    assertThatThrownBy(() -> post(p, client.next(), "/echo", "1"))
        .isInstanceOf(ExecutionException.class)
        .satisfies(e -> assertThat(ClientException.kindOf(e)).isEqualTo("connect-refused"));
  }
}
