package org.presence.loadtest.transport;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.presence.loadtest.targets.ClientException;

/**
 * HTTP/1.1 POSTs from the harness's own event loops over kept-alive connections.
 *
 * <p>A post runs on the event loop the caller names, on a connection that loop opened to the
 * target, and its answer completes there: no selector thread of its own, no hand-over between
 * threads and no thread started per answer. (The JDK's {@code HttpClient} completes every {@code
 * sendAsync} on {@code CompletableFuture}'s default pool, which on a machine of two cores starts a
 * new thread per task; in the notify benchmark that and the client's own selector thread took about
 * two thirds of the harness's CPU.) Each loop keeps the connections its finished posts left open,
 * per target, and reuses them; a connection carries one post at a time, so there are as many as the
 * loop has posts in flight. A connection the server closed, or answered with {@code Connection:
 * close}, is dropped. A post is not retried: a failure is the caller's to count. An {@code
 * https://} URL gets TLS first in the pipeline ({@link ClientTls}: the JVM's trust store, the host
 * name checked).
 */
public final class HttpPoster {
  /** The server's answer: its status and its body. */
  public record Answer(int status, byte[] body) {}

  private static final int MAX_ANSWER_BYTES = 1 << 20;

  private final Transport transport;
  private final SourceAddresses sources;
  private final Duration timeout;
  private final Map<EventLoop, Idle> idle = new ConcurrentHashMap<>();

  /**
   * Connections of {@code transport}, bound in turn to {@code sources}; a post that has no answer
   * after {@code timeout} fails with {@code timeout}, and its connection is closed.
   */
  public HttpPoster(Transport transport, SourceAddresses sources, Duration timeout) {
    this.transport = transport;
    this.sources = sources;
    this.timeout = timeout;
  }

  /**
   * POSTs {@code body} (released by this call) to {@code uri} with {@code authorization} (a whole
   * header value, or null) and {@code contentType}. Completes on {@code loop} with the answer, or
   * with a {@link ClientException} (kinds {@code closed}, {@code timeout}, {@code connect-refused},
   * ...). {@code http} or {@code https}; another scheme fails with {@code unsupported-scheme}.
   */
  public CompletionStage<Answer> post(
      EventLoop loop, URI uri, String authorization, String contentType, ByteBuf body) {
    CompletableFuture<Answer> result = new CompletableFuture<>();
    if (loop.inEventLoop()) {
      start(loop, uri, authorization, contentType, body, result);
    } else {
      loop.execute(() -> start(loop, uri, authorization, contentType, body, result));
    }
    return result;
  }

  /** How many kept-alive connections {@code loop} holds now (for tests); call on {@code loop}. */
  int idleConnections(EventLoop loop) {
    Idle i = idle.get(loop);
    return i == null ? 0 : i.size();
  }

  private void start(
      EventLoop loop,
      URI uri,
      String authorization,
      String contentType,
      ByteBuf body,
      CompletableFuture<Answer> result) {
    boolean tls = "https".equalsIgnoreCase(uri.getScheme());
    if (!tls && !"http".equalsIgnoreCase(uri.getScheme())) {
      body.release();
      result.completeExceptionally(
          new ClientException(
              "unsupported-scheme", uri.getScheme() + ": the harness speaks http and https only"));
      return;
    }
    int port = uri.getPort() > 0 ? uri.getPort() : tls ? 443 : 80;
    String key = (tls ? "https://" : "http://") + uri.getHost() + ":" + port;
    String target = uri.getRawPath() + (uri.getRawQuery() != null ? "?" + uri.getRawQuery() : "");
    FullHttpRequest req =
        new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, target, body);
    req.headers()
        .set(HttpHeaderNames.HOST, uri.getHost() + (uri.getPort() > 0 ? ":" + uri.getPort() : ""))
        .set(HttpHeaderNames.CONTENT_TYPE, contentType)
        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
    if (authorization != null) {
      req.headers().set(HttpHeaderNames.AUTHORIZATION, authorization);
    }
    Idle pool = idle.computeIfAbsent(loop, l -> new Idle());
    Channel ch = pool.take(key);
    if (ch != null) {
      send(ch, req, result);
      return;
    }
    Bootstrap b = bootstrap(loop, key, pool, tls ? uri.getHost() : null, port);
    InetSocketAddress to = new InetSocketAddress(uri.getHost(), port);
    InetSocketAddress from = sources.next();
    (from == null ? b.connect(to) : b.connect(to, from))
        .addListener(
            (ChannelFutureListener)
                f -> {
                  if (f.isSuccess()) {
                    send(f.channel(), req, result);
                  } else {
                    req.release();
                    result.completeExceptionally(f.cause());
                  }
                });
  }

  /** Connections to {@code key}; with TLS for {@code tlsHost} when it is not null. */
  private Bootstrap bootstrap(EventLoop loop, String key, Idle pool, String tlsHost, int port) {
    return transport
        .clientOn(loop, timeout)
        .handler(
            new ChannelInitializer<Channel>() {
              @Override
              protected void initChannel(Channel ch) {
                if (tlsHost != null) {
                  ch.pipeline().addLast("tls", ClientTls.handler(ch.alloc(), tlsHost, port));
                }
                ch.pipeline()
                    .addLast("http-codec", new HttpClientCodec())
                    .addLast("http-aggregator", new HttpObjectAggregator(MAX_ANSWER_BYTES))
                    .addLast("exchange", new Exchange(key, pool));
              }
            });
  }

  private void send(Channel ch, FullHttpRequest req, CompletableFuture<Answer> result) {
    Exchange ex = ch.pipeline().get(Exchange.class);
    ex.begin(ch, result);
    ch.writeAndFlush(req)
        .addListener(
            (ChannelFutureListener)
                f -> {
                  if (!f.isSuccess()) {
                    ex.fail(new ClientException("closed", String.valueOf(f.cause())));
                    f.channel().close();
                  }
                });
  }

  /** One loop's kept-alive connections by target; used on that loop only. */
  private static final class Idle {
    private final Map<String, ArrayDeque<Channel>> byTarget = new HashMap<>();

    /** An open connection to {@code key}, or null. */
    Channel take(String key) {
      ArrayDeque<Channel> q = byTarget.get(key);
      while (q != null && !q.isEmpty()) {
        Channel ch = q.pollLast();
        if (ch.isActive()) {
          return ch;
        }
      }
      return null;
    }

    void put(String key, Channel ch) {
      byTarget.computeIfAbsent(key, k -> new ArrayDeque<>()).addLast(ch);
    }

    void remove(String key, Channel ch) {
      ArrayDeque<Channel> q = byTarget.get(key);
      if (q != null) {
        q.remove(ch);
      }
    }

    int size() {
      int n = 0;
      for (ArrayDeque<Channel> q : byTarget.values()) {
        n += q.size();
      }
      return n;
    }
  }

  /** A connection's post in flight: completes it with the answer, or fails it. */
  private final class Exchange extends SimpleChannelInboundHandler<FullHttpResponse> {
    private final String key;
    private final Idle pool;
    private CompletableFuture<Answer> pending;
    private ScheduledFuture<?> deadline;

    Exchange(String key, Idle pool) {
      this.key = key;
      this.pool = pool;
    }

    void begin(Channel ch, CompletableFuture<Answer> result) {
      pending = result;
      deadline =
          ch.eventLoop()
              .schedule(
                  () -> {
                    fail(new ClientException("timeout", "no answer within " + timeout));
                    ch.close();
                  },
                  timeout.toNanos(),
                  TimeUnit.NANOSECONDS);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse res) {
      CompletableFuture<Answer> p = take();
      if (p == null) {
        // An answer nobody asked for: the connection's state is unknown.
        ctx.close();
        return;
      }
      Answer a = new Answer(res.status().code(), ByteBufUtil.getBytes(res.content()));
      if (HttpUtil.isKeepAlive(res)) {
        pool.put(key, ctx.channel());
      } else {
        ctx.close();
      }
      p.complete(a);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      pool.remove(key, ctx.channel());
      fail(new ClientException("closed", "the server closed the connection before answering"));
      super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      fail(new ClientException(ClientException.kindOf(cause), String.valueOf(cause.getMessage())));
      ctx.close();
    }

    void fail(Throwable t) {
      CompletableFuture<Answer> p = take();
      if (p != null) {
        p.completeExceptionally(t);
      }
    }

    private CompletableFuture<Answer> take() {
      CompletableFuture<Answer> p = pending;
      pending = null;
      if (deadline != null) {
        deadline.cancel(false);
        deadline = null;
      }
      return p;
    }
  }
}
