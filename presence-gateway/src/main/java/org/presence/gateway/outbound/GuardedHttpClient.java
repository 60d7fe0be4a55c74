package org.presence.gateway.outbound;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DnsRawRecord;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.SequentialDnsServerAddressStreamProvider;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import org.presence.gateway.config.OutboundConfig;
import org.presence.store.error.Causes;

/**
 * HTTP(S) requests to URLs a developer gave the node (the domain proof, webhooks), made so that
 * they cannot be turned against the node's own network:
 *
 * <ul>
 *   <li>the host is resolved first and every address it resolves to is checked against the {@link
 *       AddressPolicy}; the connection then goes to the checked address (never a second lookup), so
 *       a name that changes its answer between check and use (DNS rebinding) gains nothing;
 *   <li>the whole exchange has a deadline, the connect its own timeout, and the body a size cap;
 *   <li>redirects are followed only to the same host (checked again), at most a configured count.
 * </ul>
 *
 * <p>It never blocks the caller, nor does one request hold up another: names are resolved
 * asynchronously with Netty's DNS resolver (the servers of {@link OutboundConfig#dnsServers()} or
 * the system's, each query bounded by {@link OutboundConfig#dnsTimeout()}), and connections run on
 * this client's own event loop ({@code gw-out-N}); a name server that never answers costs only the
 * lookups of its own names. Results complete on that thread. HTTPS uses the JDK's trust store, or
 * the certificates of {@link OutboundConfig#trustFile()}. An answer the HTTP decoder could not
 * parse whole (a bad header or chunk, a body cut short) fails with {@link
 * OutboundException.Failure#PROTOCOL}, whatever its status line said.
 */
public final class GuardedHttpClient implements AutoCloseable {
  /**
   * One request.
   *
   * @param method HTTP method
   * @param uri absolute http or https URL
   * @param headers extra request headers
   * @param body request body, or an empty array
   * @param maxResponseBytes a larger response body fails with {@link
   *     OutboundException.Failure#TOO_LARGE}
   * @param timeout deadline for everything: lookups, connects, redirects and the answer
   * @param followRedirects whether same-host redirects are followed; when not, a redirect fails the
   *     request with {@link OutboundException.Failure#REDIRECT_REFUSED}
   */
  public record Request(
      HttpMethod method,
      URI uri,
      Map<String, String> headers,
      byte[] body,
      int maxResponseBytes,
      Duration timeout,
      boolean followRedirects) {
    /** A GET of {@code uri}, following same-host redirects. */
    public static Request get(URI uri, int maxResponseBytes, Duration timeout) {
      return new Request(
          HttpMethod.GET, uri, Map.of(), new byte[0], maxResponseBytes, timeout, true);
    }

    /**
     * A POST of {@code body} to {@code uri} that follows no redirect (a redirected POST would lose
     * its body or repeat it somewhere the sender did not choose).
     */
    public static Request post(
        URI uri, Map<String, String> headers, byte[] body, int maxResponseBytes, Duration timeout) {
      return new Request(HttpMethod.POST, uri, headers, body, maxResponseBytes, timeout, false);
    }
  }

  /**
   * The final answer (after same-host redirects).
   *
   * @param status HTTP status
   * @param contentType the Content-Type header, or empty
   * @param body the body, at most the request's cap
   * @param uri the URL that gave this answer
   */
  public record Response(int status, String contentType, byte[] body, URI uri) {}

  private static final String USER_AGENT = "Presence (+domain proof and webhooks)";

  private final AddressPolicy policy;
  private final OutboundConfig config;
  private final EventLoopGroup group;
  private final DnsNameResolver resolver;
  private final SslContext ssl;

  /**
   * The open connections, closed before the event loop stops: a request written while its TLS
   * handshake was still running waits inside the SslHandler, and only a close that the loop still
   * runs releases it.
   */
  private final ChannelGroup open = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

  public GuardedHttpClient(OutboundConfig config, AddressPolicy policy) {
    this.config = config;
    this.policy = policy;
    this.group =
        new MultiThreadIoEventLoopGroup(
            1, new DefaultThreadFactory("gw-out", true), NioIoHandler.newFactory());
    DnsNameResolverBuilder dns =
        new DnsNameResolverBuilder(group.next())
            .datagramChannelType(NioDatagramChannel.class)
            // Answers too long for a datagram (a TXT proof holds 1024 characters) retry over TCP.
            .socketChannelType(NioSocketChannel.class)
            .queryTimeoutMillis(Math.max(1, config.dnsTimeout().toMillis()))
            .maxPayloadSize(4096);
    if (!config.dnsServers().isEmpty()) {
      // The listed servers are asked for the name as given, without the system's search list.
      dns.nameServerProvider(new SequentialDnsServerAddressStreamProvider(config.dnsServers()))
          .searchDomains(List.of())
          .ndots(1);
    }
    this.resolver = dns.build();
    try {
      SslContextBuilder tls = SslContextBuilder.forClient();
      if (config.trustFile() != null) {
        tls.trustManager(config.trustFile().toFile());
      }
      this.ssl = tls.build();
    } catch (SSLException | IllegalArgumentException e) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      throw new IllegalStateException("cannot build the TLS client context: " + e.getMessage(), e);
    }
  }

  /** The address policy this client enforces. */
  public AddressPolicy policy() {
    return policy;
  }

  /**
   * Checks {@code uri} as {@link #send} would before connecting: its form, and every address its
   * host resolves to. Completes with the address a request would use.
   */
  public CompletionStage<InetAddress> check(URI uri) {
    try {
      validate(uri);
    } catch (OutboundException e) {
      return CompletableFuture.failedFuture(e);
    }
    return resolve(uri.getHost());
  }

  /** Sends {@code request}; fails with an {@link OutboundException}. */
  public CompletionStage<Response> send(Request request) {
    CompletableFuture<Response> result = new CompletableFuture<>();
    long deadline = System.nanoTime() + request.timeout().toNanos();
    ScheduledFuture<?> timer =
        group.schedule(
            () ->
                result.completeExceptionally(
                    new OutboundException(
                        OutboundException.Failure.TIMEOUT,
                        "no answer within " + request.timeout().toMillis() + " ms")),
            request.timeout().toNanos(),
            TimeUnit.NANOSECONDS);
    result.whenComplete((r, e) -> timer.cancel(false));
    attempt(request, request.uri(), request.method(), request.body(), 0, deadline, result);
    return result;
  }

  private void attempt(
      Request request,
      URI uri,
      HttpMethod method,
      byte[] body,
      int redirects,
      long deadline,
      CompletableFuture<Response> result) {
    try {
      validate(uri);
    } catch (OutboundException e) {
      result.completeExceptionally(e);
      return;
    }
    resolve(uri.getHost())
        .thenCompose(address -> exchange(request, uri, method, body, address, deadline, result))
        .whenComplete(
            (hop, failure) -> {
              if (failure != null) {
                result.completeExceptionally(unwrap(failure));
                return;
              }
              URI next = redirectTarget(uri, hop);
              if (next == null) {
                result.complete(new Response(hop.status, hop.contentType, hop.body, uri));
                return;
              }
              if (!request.followRedirects()) {
                result.completeExceptionally(
                    new OutboundException(
                        OutboundException.Failure.REDIRECT_REFUSED,
                        "redirect (" + hop.status + ") not followed"));
                return;
              }
              if (redirects >= config.maxRedirects()) {
                result.completeExceptionally(
                    new OutboundException(
                        OutboundException.Failure.REDIRECT_REFUSED, "too many redirects"));
                return;
              }
              if (!uri.getHost().equalsIgnoreCase(next.getHost())) {
                result.completeExceptionally(
                    new OutboundException(
                        OutboundException.Failure.REDIRECT_REFUSED,
                        "redirect to another host (" + next.getHost() + ")"));
                return;
              }
              // 303, and 301/302 after a POST, turn into a GET as browsers do; 307/308 keep all.
              boolean keep =
                  hop.status == 307
                      || hop.status == 308
                      || (hop.status != 303 && HttpMethod.GET.equals(method));
              attempt(
                  request,
                  next,
                  keep ? method : HttpMethod.GET,
                  keep ? body : new byte[0],
                  redirects + 1,
                  deadline,
                  result);
            });
  }

  /** The redirect target of a 3xx answer with a Location, resolved against {@code uri}, or null. */
  private static URI redirectTarget(URI uri, Hop hop) {
    if (hop.location == null
        || (hop.status != 301
            && hop.status != 302
            && hop.status != 303
            && hop.status != 307
            && hop.status != 308)) {
      return null;
    }
    try {
      return uri.resolve(new URI(hop.location));
    } catch (URISyntaxException | IllegalArgumentException e) {
      return null;
    }
  }

  /** One answer on the way: a redirect to follow or the final response. */
  private record Hop(int status, String contentType, byte[] body, String location) {}

  private CompletionStage<Hop> exchange(
      Request request,
      URI uri,
      HttpMethod method,
      byte[] body,
      InetAddress address,
      long deadline,
      CompletableFuture<Response> result) {
    CompletableFuture<Hop> hop = new CompletableFuture<>();
    if (result.isDone()) {
      hop.cancel(false);
      return hop;
    }
    boolean https = "https".equals(scheme(uri));
    int port = uri.getPort() > 0 ? uri.getPort() : https ? 443 : 80;
    String host = uri.getHost();
    long remainingMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    int connectMs = (int) Math.min(remainingMs, config.connectTimeout().toMillis());
    Bootstrap b =
        new Bootstrap()
            .group(group)
            .channel(NioSocketChannel.class)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectMs)
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    if (https) {
                      SslHandler tls = ssl.newHandler(ch.alloc(), bareHost(host), port);
                      SSLParameters params = tls.engine().getSSLParameters();
                      params.setEndpointIdentificationAlgorithm("HTTPS");
                      tls.engine().setSSLParameters(params);
                      ch.pipeline().addLast("tls", tls);
                    }
                    ch.pipeline()
                        .addLast("http", new HttpClientCodec(4096, 8192, 8192))
                        .addLast("aggregate", new HttpObjectAggregator(request.maxResponseBytes()))
                        .addLast("answer", new AnswerHandler(hop));
                  }
                });
    // Connect to the address that was checked, never to the name: no second lookup can differ.
    ChannelFuture cf = b.connect(new InetSocketAddress(address, port));
    Channel ch = cf.channel();
    open.add(ch);
    // Whatever ends the hop or the whole request (answer, failure, deadline) ends the connection.
    hop.whenComplete((r, e) -> ch.close());
    result.whenComplete((r, e) -> ch.close());
    cf.addListener(
        f -> {
          if (!f.isSuccess()) {
            hop.completeExceptionally(
                new OutboundException(
                    OutboundException.Failure.CONNECT_FAILED,
                    host + ":" + port + " (" + Causes.innermostMessage(f.cause()) + ")"));
            return;
          }
          FullHttpRequest req =
              new DefaultFullHttpRequest(
                  HttpVersion.HTTP_1_1, method, requestTarget(uri), Unpooled.wrappedBuffer(body));
          req.headers()
              .set(HttpHeaderNames.HOST, hostHeader(uri, https))
              .set(HttpHeaderNames.USER_AGENT, USER_AGENT)
              .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE)
              .set(HttpHeaderNames.CONTENT_LENGTH, body.length);
          request.headers().forEach(req.headers()::set);
          ch.writeAndFlush(req);
        });
    return hop;
  }

  /**
   * Completes the hop with the first final answer, or with why there was none. Interim answers
   * (1xx, RFC 9110 §15.2: {@code 100 Continue}, {@code 103 Early Hints}) are skipped, up to {@link
   * #MAX_INTERIM} of them; {@code 101 Switching Protocols}, never asked for, is no answer.
   */
  private static final class AnswerHandler extends SimpleChannelInboundHandler<FullHttpResponse> {
    /** The most interim answers taken before a final one; a site sending more is broken. */
    static final int MAX_INTERIM = 8;

    private final CompletableFuture<Hop> hop;
    private int interim;

    AnswerHandler(CompletableFuture<Hop> hop) {
      this.hop = hop;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse msg) {
      if (msg.decoderResult().isFailure()) {
        // A status line followed by a bad header, a bad chunk or a body cut short: no answer.
        hop.completeExceptionally(
            new OutboundException(
                OutboundException.Failure.PROTOCOL,
                "malformed response ("
                    + Causes.innermostMessage(msg.decoderResult().cause())
                    + ")"));
        ctx.close();
        return;
      }
      int code = msg.status().code();
      if (code >= 100 && code < 200) {
        if (code == 101 || ++interim > MAX_INTERIM) {
          hop.completeExceptionally(
              new OutboundException(
                  OutboundException.Failure.PROTOCOL,
                  code == 101
                      ? "answered 101 Switching Protocols, which was not asked for"
                      : "more than " + MAX_INTERIM + " interim (1xx) answers"));
          ctx.close();
        }
        return;
      }
      byte[] bytes = new byte[msg.content().readableBytes()];
      msg.content().readBytes(bytes);
      hop.complete(
          new Hop(
              msg.status().code(),
              msg.headers().get(HttpHeaderNames.CONTENT_TYPE, ""),
              bytes,
              msg.headers().get(HttpHeaderNames.LOCATION)));
      ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      hop.completeExceptionally(
          new OutboundException(OutboundException.Failure.PROTOCOL, "connection closed early"));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (causedBy(cause, TooLongFrameException.class)) {
        hop.completeExceptionally(
            new OutboundException(OutboundException.Failure.TOO_LARGE, "response body too large"));
      } else if (causedBy(cause, SSLException.class)) {
        hop.completeExceptionally(
            new OutboundException(
                OutboundException.Failure.CONNECT_FAILED,
                OutboundException.TLS + Causes.innermostMessage(cause)));
      } else {
        hop.completeExceptionally(
            new OutboundException(
                OutboundException.Failure.PROTOCOL, Causes.innermostMessage(cause)));
      }
      ctx.close();
    }
  }

  private static boolean causedBy(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (type.isInstance(c)) {
        return true;
      }
    }
    return false;
  }

  private CompletionStage<InetAddress> resolve(String rawHost) {
    String host = bareHost(rawHost);
    CompletableFuture<InetAddress> f = new CompletableFuture<>();
    Future<List<InetAddress>> lookup;
    try {
      lookup = resolver.resolveAll(host);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(
          new OutboundException(OutboundException.Failure.UNRESOLVABLE, host));
    }
    lookup.addListener(
        done -> {
          if (!done.isSuccess() || lookup.getNow().isEmpty()) {
            f.completeExceptionally(
                new OutboundException(
                    OutboundException.Failure.UNRESOLVABLE,
                    host
                        + (done.cause() == null
                            ? ""
                            : " (" + Causes.innermostMessage(done.cause()) + ")")));
            return;
          }
          List<InetAddress> all = lookup.getNow();
          for (InetAddress a : all) {
            if (!policy.allows(a)) {
              f.completeExceptionally(
                  new OutboundException(
                      OutboundException.Failure.ADDRESS_NOT_ALLOWED,
                      host + " is a " + AddressPolicy.describe(a)));
              return;
            }
          }
          f.complete(all.get(0));
        });
    return f;
  }

  /**
   * The TXT records of {@code name}, each as the concatenation of its strings (UTF-8); empty when
   * the name has none. Fails with {@link OutboundException.Failure#UNRESOLVABLE} when the lookup
   * fails (no such name, a server failure, no answer within the DNS timeout).
   */
  public CompletionStage<List<String>> txt(String name) {
    CompletableFuture<List<String>> f = new CompletableFuture<>();
    Future<List<DnsRecord>> lookup;
    try {
      lookup = resolver.resolveAll(new DefaultDnsQuestion(name, DnsRecordType.TXT));
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(
          new OutboundException(OutboundException.Failure.UNRESOLVABLE, name));
    }
    lookup.addListener(
        done -> {
          if (!done.isSuccess()) {
            f.completeExceptionally(
                new OutboundException(
                    OutboundException.Failure.UNRESOLVABLE,
                    name + " TXT (" + Causes.innermostMessage(done.cause()) + ")"));
            return;
          }
          List<String> texts = new ArrayList<>();
          for (DnsRecord r : lookup.getNow()) {
            try {
              if (r.type() == DnsRecordType.TXT && r instanceof DnsRawRecord raw) {
                texts.add(txtText(raw.content()));
              }
            } finally {
              ReferenceCountUtil.release(r);
            }
          }
          f.complete(texts);
        });
    return f;
  }

  /** TXT record data: length-prefixed strings, joined. */
  private static String txtText(ByteBuf data) {
    ByteBuf d = data.duplicate();
    StringBuilder out = new StringBuilder();
    while (d.isReadable()) {
      int len = d.readUnsignedByte();
      int n = Math.min(len, d.readableBytes());
      out.append(d.readCharSequence(n, StandardCharsets.UTF_8));
    }
    return out.toString();
  }

  /** Checks the form of a URL: absolute http(s), a host, no user info. */
  static void validate(URI uri) {
    String scheme = scheme(uri);
    if (!"http".equals(scheme) && !"https".equals(scheme)) {
      throw new OutboundException(OutboundException.Failure.BAD_URL, "not an http(s) URL");
    }
    if (uri.getHost() == null || uri.getHost().isEmpty()) {
      throw new OutboundException(OutboundException.Failure.BAD_URL, "no host");
    }
    if (uri.getRawUserInfo() != null) {
      throw new OutboundException(OutboundException.Failure.BAD_URL, "user info in URL");
    }
  }

  private static String scheme(URI uri) {
    return uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
  }

  /** The host without IPv6 brackets. */
  static String bareHost(String host) {
    return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
  }

  private static String hostHeader(URI uri, boolean https) {
    int port = uri.getPort();
    boolean defaultPort = port < 0 || (https && port == 443) || (!https && port == 80);
    return defaultPort ? uri.getHost() : uri.getHost() + ":" + port;
  }

  private static String requestTarget(URI uri) {
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    return uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
  }

  private static Throwable unwrap(Throwable t) {
    return t instanceof java.util.concurrent.CompletionException && t.getCause() != null
        ? t.getCause()
        : t;
  }

  @Override
  public void close() {
    resolver.close();
    open.close().awaitUninterruptibly(1000);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(2000);
  }
}
