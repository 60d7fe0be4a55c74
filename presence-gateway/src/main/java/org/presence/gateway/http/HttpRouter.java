package org.presence.gateway.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Scope;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.presence.gateway.config.LimitsConfig;
import org.presence.gateway.connection.Backpressure;
import org.presence.gateway.connection.Connections;
import org.presence.gateway.connection.PipelineNames;
import org.presence.gateway.error.Disconnector;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.gateway.net.ClientAddress;
import org.presence.gateway.net.TrustedProxies;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends each HTTP request to its route. Plain routes get an {@link HttpExchange}; a WebSocket route
 * gets the {@code ws-protocol} handler and the endpoint's tail installed after this handler, which
 * then removes itself (with the HTTP idle timer and header deadline), so an upgraded connection
 * keeps no HTTP handler once the handshake replaced the codec.
 *
 * <p>Each request's client address is worked out here ({@link ClientAddress}: the TCP peer, or whom
 * a trusted proxy forwarded the request for), before its handler or endpoint runs.
 *
 * <p>Reads pause while a request is answered (the {@code flow-control} handler before this one
 * holds any pipelined requests), so answers leave in request order. A WebSocket upgrade does not
 * pause them: it is done (the tail installed, the request handed to the handshake, the HTTP decoder
 * removed) before the router returns. The bytes read after an upgrade request (frames of a client
 * that did not wait for the 101) are the WebSocket's first frames: they are decoded as frames once
 * the handshake is done, never as HTTP nor dropped.
 */
@Sharable
public final class HttpRouter extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(HttpRouter.class);

  /**
   * The OAuth endpoints' paths: their refusals have OAuth's error body ({@link #refuseRequest}).
   */
  private static final String OAUTH = "/oauth/";

  /** How long a client has to complete the WebSocket handshake once the upgrade was routed. */
  private static final long HANDSHAKE_TIMEOUT_MS = 10_000;

  private final HttpRoutes routes;
  private final LimitsConfig limits;
  private final GatewayMetrics metrics;
  private final Connections connections;
  private final Disconnector disconnector;
  private final TrustedProxies proxies;

  /** How an upgraded socket is ended when the node drains; one instance for all sockets. */
  private final Consumer<Channel> goingAway;

  /** The styled error page for browsers, or null (JSON for everyone). */
  private volatile ErrorPages errorPages;

  public HttpRouter(
      HttpRoutes routes,
      LimitsConfig limits,
      GatewayMetrics metrics,
      Connections connections,
      Disconnector disconnector,
      TrustedProxies proxies) {
    this.routes = routes;
    this.limits = limits;
    this.metrics = metrics;
    this.connections = connections;
    this.disconnector = disconnector;
    this.proxies = proxies;
    this.goingAway = ch -> disconnector.close(ch, ErrorCode.SERVER_SHUTTING_DOWN, null);
  }

  /**
   * Lets browsers get the styled error page instead of the JSON error body when the router itself
   * refuses a request (an undecodable address, an unknown path, a method the path does not take).
   * Without it every refusal is JSON.
   */
  public HttpRouter withErrorPages(ErrorPages pages) {
    this.errorPages = pages;
    return this;
  }

  /** The route table. */
  public HttpRoutes routes() {
    return routes;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof FullHttpRequest request) || Backpressure.isClosing(ctx.channel())) {
      // A request pipelined after the connection's last answer (one that closes it) is dropped.
      ReferenceCountUtil.release(msg);
      return;
    }
    JsonHttpObjectAggregator.routed(ctx.channel());
    try {
      route(ctx, request);
    } finally {
      request.release();
    }
  }

  // What one pass over a request's headers found (scanHeaders), as bits: each header read one way
  // only, seen and seen twice; a Content-Encoding (its first) other than identity; a transfer
  // coding other than chunked.
  private static final int HOST = 1;
  private static final int HOST_TWICE = HOST << 1;
  private static final int AUTHORIZATION = 1 << 2;
  private static final int AUTHORIZATION_TWICE = AUTHORIZATION << 1;
  private static final int CONTENT_TYPE = 1 << 4;
  private static final int CONTENT_TYPE_TWICE = CONTENT_TYPE << 1;
  private static final int CONTENT_ENCODING = 1 << 6;
  private static final int ENCODED = 1 << 7;
  private static final int OTHER_TRANSFER_CODING = 1 << 8;

  /**
   * One pass over {@code h} for the checks before routing ({@link #badRequest}, the transfer
   * codings): the names it looks for have five different lengths, so each header is compared with
   * one name at most.
   */
  private static int scanHeaders(HttpHeaders h) {
    int found = 0;
    for (Iterator<Map.Entry<CharSequence, CharSequence>> it = h.iteratorCharSequence();
        it.hasNext(); ) {
      Map.Entry<CharSequence, CharSequence> header = it.next();
      CharSequence name = header.getKey();
      switch (name.length()) {
        case 4 -> found |= once(found, name, HttpHeaderNames.HOST, HOST);
        case 13 -> found |= once(found, name, HttpHeaderNames.AUTHORIZATION, AUTHORIZATION);
        case 12 -> found |= once(found, name, HttpHeaderNames.CONTENT_TYPE, CONTENT_TYPE);
        case 16 -> {
          // Read as its first value was: the others are not looked at.
          if ((found & CONTENT_ENCODING) == 0
              && AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.CONTENT_ENCODING)) {
            found |= CONTENT_ENCODING;
            if (!HttpHeaderValues.IDENTITY.contentEqualsIgnoreCase(
                header.getValue().toString().strip())) {
              found |= ENCODED;
            }
          }
        }
        case 17 -> {
          if (AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.TRANSFER_ENCODING)
              && !onlyChunked(header.getValue())) {
            found |= OTHER_TRANSFER_CODING;
          }
        }
        default -> {}
      }
    }
    return found;
  }

  /**
   * The bit to add for a header {@code name} if it is {@code wanted}: {@code seen}, or the bit
   * after it (twice) when {@code found} has {@code seen} already; else none.
   */
  private static int once(int found, CharSequence name, CharSequence wanted, int seen) {
    if (!AsciiString.contentEqualsIgnoreCase(name, wanted)) {
      return 0;
    }
    return (found & seen) != 0 ? seen << 1 : seen;
  }

  /** Whether a {@code Transfer-Encoding} value names no coding but {@code chunked}. */
  private static boolean onlyChunked(CharSequence value) {
    for (String coding : value.toString().split(",")) {
      if (!coding.isBlank() && !HttpHeaderValues.CHUNKED.contentEqualsIgnoreCase(coding.strip())) {
        return false;
      }
    }
    return true;
  }

  /**
   * Why the request is refused before routing, or {@code null}: its address ({@link #badAddress};
   * {@code path}, the target in origin-form, is null for a target of a form its method may not use:
   * {@link RequestTarget}), or its headers ({@code headers}: what {@link #scanHeaders} found). RFC
   * 9112 section 3.2: an HTTP/1.1 request has exactly one {@code Host}. A header that can only be
   * read one way ({@code Host}, {@code Authorization}, {@code Content-Type}) given twice is refused
   * rather than read as its first value, which a proxy in front may not have read.
   */
  private static ProtocolException badRequest(
      FullHttpRequest request, int headers, String path, QueryStringDecoder uri) {
    if ((headers & HOST_TWICE) != 0
        || ((headers & HOST) == 0
            && request.protocolVersion().compareTo(HttpVersion.HTTP_1_1) >= 0)) {
      return new ProtocolException(ErrorCode.BAD_REQUEST, "exactly one Host header is needed");
    }
    if ((headers & AUTHORIZATION_TWICE) != 0) {
      return new ProtocolException(ErrorCode.BAD_REQUEST, "Authorization header given twice");
    }
    if ((headers & CONTENT_TYPE_TWICE) != 0) {
      return new ProtocolException(ErrorCode.BAD_REQUEST, "Content-Type header given twice");
    }
    if ((headers & ENCODED) != 0) {
      // RFC 9110 section 8.4.1: bodies are read as they come; a compressed one is refused, not
      // read as bytes that are not UTF-8.
      return new ProtocolException(
          ErrorCode.UNSUPPORTED_MEDIA_TYPE, "content codings are not served: send the body as is");
    }
    if (path == null) {
      return new ProtocolException(
          ErrorCode.BAD_REQUEST, "the request target is neither a path nor an http(s) address");
    }
    return badAddress(path, uri);
  }

  /**
   * Why the request's address is refused, or {@code null}: an incomplete or non-hexadecimal
   * percent-escape, bytes that do not decode to UTF-8 (never read with replacement characters), a
   * query parameter given twice (never read as its first value: two parts of a chain could each
   * read a different one; RFC 6749 section 3.1 says so of OAuth's parameters). Handlers only ever
   * see addresses that decode to one meaning.
   */
  private static ProtocolException badAddress(String target, QueryStringDecoder uri) {
    Map<String, List<String>> parameters;
    try {
      uri.path();
      parameters = uri.parameters();
    } catch (IllegalArgumentException e) {
      return new ProtocolException(
          ErrorCode.BAD_REQUEST, "the address is not valid percent-encoding");
    }
    if (!Addresses.decodesToUtf8(target)) {
      return new ProtocolException(ErrorCode.BAD_REQUEST, "the address is not valid UTF-8");
    }
    for (var values : parameters.values()) {
      if (values.size() > 1) {
        return new ProtocolException(ErrorCode.DUPLICATE_FIELD, "query parameter given twice");
      }
    }
    return null;
  }

  /**
   * Answers a request the client got wrong: the styled error page for a browser asking for a page
   * (it accepts {@code text/html} and the path is not under {@code /api/}), the JSON error body
   * otherwise. Logged at DEBUG only: the client caused it.
   */
  private void refuse(
      ChannelHandlerContext ctx, HttpExchange exchange, ErrorCode code, String detail) {
    refuse(ctx, exchange, code, detail, null);
  }

  private void refuse(
      ChannelHandlerContext ctx,
      HttpExchange exchange,
      ErrorCode code,
      String detail,
      Consumer<HttpHeaders> more) {
    LOG.debug("{} refused on {}: {}", code, ctx.channel(), detail);
    ErrorPages pages = errorPages;
    String accept = exchange.header(HttpHeaderNames.ACCEPT);
    String rawPath = exchange.rawPath();
    if (pages != null
        && accept != null
        && accept.contains("text/html")
        && !rawPath.startsWith("/api/")) {
      pages.render(exchange, code, code.reasonWith(detail), more);
    } else if (more != null) {
      exchange.error(code, detail, more);
    } else {
      exchange.error(code, detail);
    }
  }

  /**
   * Refuses a request that is malformed or too large before it reaches its endpoint, with {@code
   * status}: on the OAuth endpoints (paths under {@value #OAUTH}) with an OAuth error body, {@code
   * invalid_request} and the reason as its description (RFC 6749 §5.2, RFC 8628 §3.2: an OAuth
   * client reads no other); elsewhere as {@link #refuse} does, but a status the errno does not name
   * (417) is answered in JSON.
   */
  private void refuseRequest(
      ChannelHandlerContext ctx,
      HttpExchange exchange,
      HttpResponseStatus status,
      ErrorCode code,
      String detail,
      Consumer<HttpHeaders> more) {
    if (exchange.rawPath().startsWith(OAUTH)) {
      LOG.debug("{} refused on {}: {}", code, ctx.channel(), detail);
      exchange.oauthError(status, code, "invalid_request", code.reasonWith(detail), more);
    } else if (status.code() == code.httpStatus()) {
      refuse(ctx, exchange, code, detail, more);
    } else {
      exchange.error(status, code, detail, more);
    }
  }

  private void route(ChannelHandlerContext ctx, FullHttpRequest request) {
    metrics.framesIn(Connections.Kind.HTTP.label()).inc();
    Connections.busy(ctx.channel(), true);
    String target = request.uri();
    // Routed by its path and query, whatever the target's form (null: one the method may not use).
    String path = RequestTarget.originForm(request.method(), target);
    QueryStringDecoder uri =
        new QueryStringDecoder(Addresses.nonAsciiAsUtf8(path != null ? path : target));
    boolean failed = request.decoderResult().isFailure();
    int headers = failed ? 0 : scanHeaders(request.headers());
    ProtocolException badAddress = failed ? null : badRequest(request, headers, path, uri);
    boolean valid = !failed && badAddress == null;
    String authority = valid ? RequestTarget.authority(target) : null;
    if (authority != null) {
      // RFC 9112 section 3.2.2: an absolute-form target's authority replaces the Host header; what
      // follows (handlers, the WebSocket handshake) sees the request in origin-form.
      request.setUri(path);
      request.headers().set(HttpHeaderNames.HOST, authority);
    }
    HttpRoutes.Match match = valid ? routes.match(request.method(), uri.rawPath()) : null;
    if (!upgrades(request, match)) {
      // Reads pause until the answer is written. An upgrade is done before this returns (no read
      // comes in between), so it is not paused: that saves two epoll_ctl calls per connect.
      Backpressure.pause(ctx.channel(), Backpressure.BUSY);
    }
    HttpExchange exchange = new HttpExchange(ctx, request, uri, Map.of(), metrics, connections);
    if (failed) {
      Throwable cause = request.decoderResult().cause();
      // Negotiated as the router's other refusals (a browser posting a page's form too large gets
      // the error page), but a status the errno does not name (417) is answered in JSON.
      if (cause instanceof JsonHttpObjectAggregator.Refusal r) {
        refuseRequest(
            ctx,
            exchange,
            r.status(),
            r.code(),
            r.detail(),
            r.headers() == null ? closeAfter() : closeAfter().andThen(r.headers()));
      } else if (cause instanceof TooLongHttpHeaderException) {
        ErrorPages pages = errorPages;
        if (pages != null
            && exchange.header(HttpHeaderNames.ACCEPT) == null
            && HttpMethod.GET.equals(request.method())
            && isPagePath(uri.rawPath())) {
          // The codec stopped at an over-long header line (a cookie grown too large, say) before
          // any Accept: a GET of a page's address is a browser's, and gets the page that says to
          // clear the site's cookies. The request line was read: its own method and path say so
          // (a pipelined request's start is not where a read starts, which isPage looks at).
          pages.render(
              exchange,
              ErrorCode.HEADERS_TOO_LARGE,
              ErrorCode.HEADERS_TOO_LARGE.reason(),
              closeAfter());
        } else {
          refuse(ctx, exchange, ErrorCode.HEADERS_TOO_LARGE, null, closeAfter());
        }
      } else if (cause instanceof TooLongFrameException) {
        ErrorPages pages = errorPages;
        if (pages != null && isPage(ctx)) {
          // Its headers were never read (no Accept to go by): a GET of a page's address is a
          // browser's, and gets the error page.
          pages.render(
              exchange,
              ErrorCode.BAD_REQUEST,
              ErrorCode.BAD_REQUEST.reasonWith("request line too long"),
              closeAfter());
        } else {
          refuse(ctx, exchange, ErrorCode.BAD_REQUEST, "request line too long", closeAfter());
        }
      } else {
        refuse(ctx, exchange, ErrorCode.BAD_REQUEST, null, closeAfter());
      }
      return;
    }
    if (request.protocolVersion().majorVersion() != 1) {
      // An HTTP/1 request line naming another major version (HTTP/2 has no request line).
      exchange.error(
          HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED,
          ErrorCode.BAD_REQUEST,
          "only HTTP/1.0 and HTTP/1.1 are served",
          closeAfter());
      return;
    }
    if ((headers & OTHER_TRANSFER_CODING) != 0) {
      // RFC 9112 section 6.1: a transfer coding the node does not know (gzip before chunked) is
      // 501; its body was framed by the codec as chunked, unread: the connection ends.
      exchange.error(
          HttpResponseStatus.NOT_IMPLEMENTED,
          ErrorCode.BAD_REQUEST,
          "the only transfer coding served is chunked",
          closeAfter());
      return;
    }
    if (badAddress != null) {
      ErrorCode code = badAddress.code();
      refuseRequest(
          ctx,
          exchange,
          HttpResponseStatus.valueOf(code.httpStatus()),
          code,
          badAddress.detail(),
          null);
      return;
    }
    ClientAddress.update(ctx.channel(), request.headers(), proxies);
    try {
      dispatch(ctx, request, uri, exchange, match);
    } catch (RuntimeException e) {
      // A bug in routing itself: answered (500, logged), never left without an answer.
      exchange.error(e);
    }
  }

  /** Paths of GET routes that are not pages (a too-long request line there is answered JSON). */
  private static final List<String> NOT_PAGES =
      List.of(
          "/api/", OAUTH, "/admin", "/static/", "/__", "/metrics", "/.well-known/", "/favicon.ico");

  /**
   * Whether the request the codec refused for its request line was a GET of one of the pages (its
   * path, as far as {@link HeaderDeadline#getPath} saw it, matches a GET route outside the API,
   * OAuth, admin, static and operations paths).
   */
  private boolean isPage(ChannelHandlerContext ctx) {
    HeaderDeadline deadline = ctx.pipeline().get(HeaderDeadline.class);
    return isPagePath(deadline == null ? null : deadline.getPath());
  }

  /** Whether {@code path} is that of a GET route of the pages (see {@link #isPage}). */
  private boolean isPagePath(String path) {
    if (path == null) {
      return false;
    }
    for (String prefix : NOT_PAGES) {
      if (path.startsWith(prefix)) {
        return false;
      }
    }
    return routes.match(HttpMethod.GET, path) instanceof HttpRoutes.Found;
  }

  /** Whether {@code request} is a WebSocket upgrade of a WebSocket route ({@code match}). */
  private static boolean upgrades(FullHttpRequest request, HttpRoutes.Match match) {
    return match instanceof HttpRoutes.Found found
        && found.route().webSocket() != null
        && isUpgrade(request);
  }

  private static boolean isUpgrade(FullHttpRequest request) {
    return request
        .headers()
        .containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true);
  }

  private void dispatch(
      ChannelHandlerContext ctx,
      FullHttpRequest request,
      QueryStringDecoder uri,
      HttpExchange exchange,
      HttpRoutes.Match match) {
    if (match instanceof HttpRoutes.NotFound) {
      refuse(ctx, exchange, ErrorCode.NOT_FOUND, null);
    } else if (match instanceof HttpRoutes.MethodNotAllowed m) {
      String allow = m.allowed().stream().map(Object::toString).collect(Collectors.joining(", "));
      refuse(
          ctx,
          exchange,
          ErrorCode.METHOD_NOT_ALLOWED,
          null,
          h -> h.set(HttpHeaderNames.ALLOW, allow));
    } else if (match instanceof HttpRoutes.Found found) {
      HttpExchange routed =
          new HttpExchange(ctx, request, uri, found.params(), metrics, connections);
      if (found.route().webSocket() != null) {
        upgrade(ctx, routed, found.route().webSocket());
      } else {
        // A span per request when traces are on, named by the route's template (never the path,
        // which may carry PUIDs); current while the handler runs, ended with the answer.
        Span span =
            metrics.tracing().enabled()
                ? metrics
                    .tracing()
                    .tracer()
                    .spanBuilder(request.method().name() + " " + found.route().pattern())
                    .setSpanKind(SpanKind.SERVER)
                    .setAttribute("http.request.method", request.method().name())
                    .setAttribute("http.route", found.route().pattern())
                    .startSpan()
                : null;
        routed.traced(span);
        try (Scope scope = span == null ? null : span.makeCurrent()) {
          found.route().handler().handle(routed);
        } catch (Exception e) {
          routed.error(e);
        }
      }
    }
  }

  private void upgrade(
      ChannelHandlerContext ctx, HttpExchange exchange, WebSocketEndpoint endpoint) {
    FullHttpRequest request = exchange.request();
    if (!isUpgrade(request)) {
      refuse(ctx, exchange, ErrorCode.BAD_REQUEST, "WebSocket upgrade required");
      return;
    }
    // What Netty's handshaker would refuse in plain text or serve in a form this node does not
    // speak (the drafts before RFC 6455, hixie-76 among them), refused here in JSON (RFC 6455
    // 4.2.1, 4.4: a version other than 13 is answered with the version the server speaks).
    if (!request
        .headers()
        .containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)) {
      refuse(ctx, exchange, ErrorCode.BAD_REQUEST, "WebSocket upgrade needs Connection: Upgrade");
      return;
    }
    if (request.protocolVersion().compareTo(HttpVersion.HTTP_1_1) < 0) {
      // RFC 6455 section 4.1: the opening handshake is an HTTP/1.1 request.
      refuse(ctx, exchange, ErrorCode.BAD_REQUEST, "WebSocket upgrade needs HTTP/1.1");
      return;
    }
    if (!"13".equals(request.headers().get(HttpHeaderNames.SEC_WEBSOCKET_VERSION))) {
      refuse(
          ctx,
          exchange,
          ErrorCode.BAD_REQUEST,
          "WebSocket version 13 required",
          h -> h.set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, "13"));
      return;
    }
    if (!validKey(request.headers().get(HttpHeaderNames.SEC_WEBSOCKET_KEY))) {
      refuse(ctx, exchange, ErrorCode.BAD_REQUEST, "Sec-WebSocket-Key must be 16 bytes in base64");
      return;
    }
    if (endpoint.requiresSubprotocol() && !offers(request, endpoint.subprotocols())) {
      // RFC 7395 §3.1 (the xmpp subprotocol): a client that does not ask for it would not speak
      // it, and one that does must see it echoed, which a served handshake without it would not.
      refuse(
          ctx,
          exchange,
          ErrorCode.BAD_REQUEST,
          "WebSocket subprotocol "
              + endpoint.subprotocols()
              + " required (Sec-WebSocket-Protocol)");
      return;
    }
    ChannelPipeline p = ctx.pipeline();
    WebSocketServerProtocolConfig config =
        WebSocketServerProtocolConfig.newBuilder()
            // The address as sent, query and escapes included: the handshaker serves a request
            // whose address equals it, and the route was matched already.
            .websocketPath(request.uri())
            .subprotocols(endpoint.subprotocols())
            .checkStartsWith(false)
            .handleCloseFrames(true)
            .dropPongFrames(!endpoint.receivesPongs())
            .handshakeTimeoutMillis(HANDSHAKE_TIMEOUT_MS)
            .decoderConfig(frameDecoding(limits.maxFrameBytes(), endpoint.validatesUtf8()))
            .build();
    p.addAfter(
        PipelineNames.HTTP_ROUTER,
        PipelineNames.WS_PROTOCOL,
        new WebSocketServerProtocolHandler(config));
    endpoint.install(p, exchange);
    p.addAfter(
        PipelineNames.WS_PROTOCOL,
        "ws-upgraded",
        new UpgradeListener(
            connections,
            endpoint.kind(),
            endpoint.onDrain() != null ? endpoint.onDrain() : goingAway));
    if (p.get(PipelineNames.HTTP_IDLE) != null) {
      p.remove(PipelineNames.HTTP_IDLE);
    }
    if (p.get(PipelineNames.HTTP_HEADER_DEADLINE) != null) {
      p.remove(PipelineNames.HTTP_HEADER_DEADLINE);
    }
    p.remove(this);
    Connections.busy(ctx.channel(), false);
    ctx.fireChannelRead(request.retain());
    // The HTTP decoder may hold bytes read after the request: frames of a client that did not wait
    // for the 101. They must not be decoded as HTTP, nor skip the wsdecoder (which the handshake
    // puts before the codec). Removing the decoder now hands them on to the upgrade listener, which
    // keeps them until the handshake is done and then feeds them to the wsdecoder. Once the 101 is
    // written the handshake removes the whole codec, and the decoder with it: that hands them on
    // the same way (with NIO that happened already, as the write completes at once; io_uring
    // completes it later, and reads may come in between: they pass the codec undecoded now).
    if (ctx.channel().isActive()
        && p.get(PipelineNames.HTTP_CODEC) instanceof CombinedChannelDuplexHandler<?, ?> codec) {
      codec.removeInboundHandler();
    }
  }

  /**
   * Whether {@code request} offers one of {@code subprotocols} (comma-separated) in its {@code
   * Sec-WebSocket-Protocol} header, read as Netty's handshaker reads it when it picks the one it
   * echoes (the first such header, comma-separated, trimmed, case-sensitive): what passes here is
   * echoed.
   */
  private static boolean offers(FullHttpRequest request, String subprotocols) {
    if (subprotocols == null) {
      return true;
    }
    String header = request.headers().get(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL);
    if (header == null) {
      return false;
    }
    for (String offered : header.split(",")) {
      for (String served : subprotocols.split(",")) {
        if (offered.trim().equals(served.trim())) {
          return true;
        }
      }
    }
    return false;
  }

  /** Whether {@code key} is a WebSocket key: 16 bytes in base64 (RFC 6455 4.1), 24 characters. */
  private static boolean validKey(String key) {
    if (key == null || key.length() != 24) {
      return false;
    }
    try {
      return Base64.getDecoder().decode(key).length == 16;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /**
   * How every WebSocket endpoint's frames are decoded: payloads up to {@code maxFrameBytes}, no
   * extensions, masked frames only (RFC 6455 §5.1), Netty's UTF-8 check only where {@code
   * validatesUtf8}; a protocol violation is not answered by the decoder but reaches the exception
   * handler, which answers with an errno.
   */
  public static WebSocketDecoderConfig frameDecoding(int maxFrameBytes, boolean validatesUtf8) {
    return WebSocketDecoderConfig.newBuilder()
        .maxFramePayloadLength(maxFrameBytes)
        .allowExtensions(false)
        .withUTF8Validator(validatesUtf8)
        .allowMaskMismatch(false)
        .closeOnProtocolViolation(false)
        .build();
  }

  private static Consumer<HttpHeaders> closeAfter() {
    return h -> h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof IdleStateEvent) {
      // An HTTP connection with no request in flight for the idle timeout: close it.
      ctx.close();
      return;
    }
    super.userEventTriggered(ctx, evt);
  }

  /**
   * Marks the connection as upgraded once the handshake is done, then leaves the pipeline. Until
   * then it keeps the bytes that reach it undecoded (those the HTTP decoder read after the upgrade
   * request, handed on as it leaves the pipeline), with reads paused, and once the handshake is
   * done (the endpoint told of it first) feeds them to the {@code wsdecoder}, as a read would: a
   * client's frames sent in the upgrade request's own write are its WebSocket's first frames.
   */
  private static final class UpgradeListener extends ChannelInboundHandlerAdapter {
    private final Connections connections;
    private final Connections.Kind kind;
    private final Consumer<Channel> goingAway;

    /** The bytes read after the upgrade request, kept for the {@code wsdecoder}, or null. */
    private ByteBuf early;

    UpgradeListener(Connections connections, Connections.Kind kind, Consumer<Channel> goingAway) {
      this.connections = connections;
      this.kind = kind;
      this.goingAway = goingAway;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof ByteBuf bytes)) {
        ctx.fireChannelRead(msg);
        return;
      }
      if (early == null) {
        early = bytes;
        // Held here, not decoded: no more is read until the handshake is done.
        Backpressure.pause(ctx.channel(), Backpressure.BUSY);
      } else if (early instanceof CompositeByteBuf more) {
        more.addComponent(true, bytes);
      } else {
        early = ctx.alloc().compositeBuffer().addComponents(true, early, bytes);
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (!(evt instanceof WebSocketServerProtocolHandler.HandshakeComplete)) {
        super.userEventTriggered(ctx, evt);
        return;
      }
      ByteBuf held = early;
      early = null;
      connections.upgraded(ctx.channel(), kind, goingAway);
      ctx.pipeline().remove(this);
      super.userEventTriggered(ctx, evt);
      if (held != null) {
        readEarly(ctx.channel(), held);
      }
    }

    /**
     * Feeds {@code held} to the {@code wsdecoder}, from a handler put before it for the purpose.
     */
    private static void readEarly(Channel ch, ByteBuf held) {
      Backpressure.resume(ch, Backpressure.BUSY);
      ChannelPipeline p = ch.pipeline();
      if (!ch.isActive() || p.get(PipelineNames.WS_DECODER) == null) {
        held.release();
        return;
      }
      ChannelHandlerContext before =
          p.addBefore(PipelineNames.WS_DECODER, EarlyBytes.NAME, EarlyBytes.INSTANCE)
              .context(EarlyBytes.NAME);
      try {
        before.fireChannelRead(held);
        before.fireChannelReadComplete();
      } finally {
        if (p.get(EarlyBytes.NAME) != null) {
          p.remove(EarlyBytes.NAME);
        }
      }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
      // The connection ended before the handshake was done.
      if (early != null) {
        early.release();
        early = null;
      }
    }
  }

  /** A place in the pipeline before the {@code wsdecoder}, from which bytes are fed to it. */
  @Sharable
  private static final class EarlyBytes extends ChannelInboundHandlerAdapter {
    static final String NAME = "ws-early-bytes";
    static final EarlyBytes INSTANCE = new EarlyBytes();
  }
}
