package org.presence.gateway.http;

import com.fasterxml.jackson.core.JsonGenerator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Scope;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.presence.gateway.connection.Backpressure;
import org.presence.gateway.connection.Connections;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.protocol.api.ErrorBody;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.json.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP request and its answer. The request (and its body) is valid until the handler returns;
 * the answer may be sent later, from any thread, exactly once. Answers keep the connection alive
 * unless the client or a draining node asks otherwise, and then let the connection read its next
 * request.
 */
public final class HttpExchange {
  private static final Logger LOG = LoggerFactory.getLogger(HttpExchange.class);

  /** JSON bodies. */
  public static final String JSON = "application/json; charset=utf-8";

  /**
   * Whether {@code contentType} is JSON: {@code application/json} exactly (not {@code
   * application/jsonx}), with no charset or UTF-8's (the bodies are read as UTF-8; RFC 8259 has
   * JSON in UTF-8 only).
   */
  public static boolean isJson(String contentType) {
    return isUtf8Type(contentType, "application/json");
  }

  /**
   * Whether {@code contentType} is a form: {@code application/x-www-form-urlencoded} exactly, with
   * no charset or UTF-8's (forms are read as UTF-8, as browsers send them from UTF-8 pages).
   */
  public static boolean isForm(String contentType) {
    return isUtf8Type(contentType, "application/x-www-form-urlencoded");
  }

  /** Whether {@code contentType} is {@code type} with no charset parameter or UTF-8's. */
  private static boolean isUtf8Type(String contentType, String type) {
    if (contentType == null) {
      return false;
    }
    int semi = contentType.indexOf(';');
    String t = (semi < 0 ? contentType : contentType.substring(0, semi)).strip();
    if (!t.equalsIgnoreCase(type)) {
      return false;
    }
    CharSequence charset = semi < 0 ? null : HttpUtil.getCharsetAsSequence(contentType);
    if (charset == null) {
      return true;
    }
    String c = charset.toString().strip();
    if (c.length() >= 2 && c.charAt(0) == '"' && c.charAt(c.length() - 1) == '"') {
      c = c.substring(1, c.length() - 1);
    }
    return c.equalsIgnoreCase("utf-8") || c.equalsIgnoreCase("utf8");
  }

  private final ChannelHandlerContext ctx;
  private final FullHttpRequest request;
  private final QueryStringDecoder uri;
  private final Map<String, String> params;
  private final GatewayMetrics metrics;
  private final Connections connections;
  private final boolean keepAlive;
  private final AtomicBoolean answered = new AtomicBoolean();
  private volatile String bodyText;
  private volatile byte[] bodyBytes;
  private volatile Object attachment;
  private volatile Span span;

  HttpExchange(
      ChannelHandlerContext ctx,
      FullHttpRequest request,
      QueryStringDecoder uri,
      Map<String, String> params,
      GatewayMetrics metrics,
      Connections connections) {
    this.ctx = ctx;
    this.request = request;
    this.uri = uri;
    this.params = params;
    this.metrics = metrics;
    this.connections = connections;
    this.keepAlive = HttpUtil.isKeepAlive(request);
  }

  /** The connection. */
  public Channel channel() {
    return ctx.channel();
  }

  /** The pipeline context of the router, for handlers that take over the connection. */
  public ChannelHandlerContext context() {
    return ctx;
  }

  public HttpMethod method() {
    return request.method();
  }

  /** The decoded path, without the query. */
  public String path() {
    return uri.path();
  }

  /** The path as sent, still percent-encoded, without the query. */
  public String rawPath() {
    return uri.rawPath();
  }

  /** A path parameter of the matched route. */
  public String param(String name) {
    return params.get(name);
  }

  /** The first value of query parameter {@code name}. */
  public Optional<String> query(String name) {
    List<String> values = uri.parameters().get(name);
    return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.get(0));
  }

  /** All query parameters. */
  public Map<String, List<String>> queryParameters() {
    return uri.parameters();
  }

  /** Whether the request is HTTP/1.1 or later (chunked responses are possible). */
  public boolean http11() {
    return !HttpVersion.HTTP_1_0.equals(request.protocolVersion());
  }

  public HttpHeaders headers() {
    return request.headers();
  }

  /** A request header, or {@code null}. */
  public String header(CharSequence name) {
    return request.headers().get(name);
  }

  /** The request body; valid only until the handler returns. */
  public ByteBuf body() {
    return request.content();
  }

  /**
   * The request body as UTF-8 text; once read, it stays readable after the handler returned (a
   * handler that first looks something up asynchronously reads it before).
   */
  public String bodyText() {
    String s = bodyText;
    if (s == null) {
      s = request.content().toString(StandardCharsets.UTF_8);
      bodyText = s;
    }
    return s;
  }

  /**
   * A copy of the request body's bytes; once read, it stays readable after the handler returned (a
   * form is read after its visitor's session was looked up).
   */
  public byte[] bodyBytes() {
    byte[] b = bodyBytes;
    if (b == null) {
      b = ByteBufUtil.getBytes(request.content());
      bodyBytes = b;
    }
    return b;
  }

  /** What a wrapping handler resolved for the one it wraps (the pages' visitor), or null. */
  public Object attachment() {
    return attachment;
  }

  /** Sets {@link #attachment()}. */
  public void attach(Object value) {
    this.attachment = value;
  }

  /** The full request, for handlers that hand it on (upgrades); valid until the handler returns. */
  FullHttpRequest request() {
    return request;
  }

  /** Whether an answer has been sent. */
  public boolean answered() {
    return answered.get();
  }

  /** Writes a JSON body with {@code writer} and sends it with {@code status}. */
  public void json(HttpResponseStatus status, JsonWriter writer) {
    ByteBuf buf = ctx.alloc().buffer();
    try (OutputStream out = new ByteBufOutputStream(buf);
        JsonGenerator g = Json.documents().createGenerator(out)) {
      writer.write(g);
    } catch (IOException | RuntimeException e) {
      buf.release();
      error(e);
      return;
    }
    respond(status, JSON, buf, null);
  }

  /** Sends {@code body} (ownership passes here) with {@code status} and {@code contentType}. */
  public void respond(HttpResponseStatus status, CharSequence contentType, ByteBuf body) {
    respond(status, contentType, body, null);
  }

  /** Sends a UTF-8 text body. */
  public void respond(HttpResponseStatus status, CharSequence contentType, String body) {
    respond(status, contentType, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8), null);
  }

  /**
   * Sends {@code body} with {@code status}, letting {@code headers} add response headers. Later
   * calls are ignored (and their body released): a request gets one answer.
   */
  public void respond(
      HttpResponseStatus status,
      CharSequence contentType,
      ByteBuf body,
      Consumer<HttpHeaders> headers) {
    if (!answered.compareAndSet(false, true)) {
      body.release();
      return;
    }
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
    HttpHeaders h = response.headers();
    if (contentType != null) {
      h.set(HttpHeaderNames.CONTENT_TYPE, contentType);
    }
    h.set(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
    h.set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
    h.set("X-Content-Type-Options", "nosniff");
    if (headers != null) {
      headers.accept(h);
    }
    send(response);
  }

  /** Answers with the error body of {@code code} and its HTTP status. */
  public void error(ErrorCode code, String detail) {
    error(code, detail, null);
  }

  /** Answers with the error body of {@code code}, letting {@code headers} add headers. */
  public void error(ErrorCode code, String detail, Consumer<HttpHeaders> headers) {
    error(HttpResponseStatus.valueOf(code.httpStatus()), code, detail, headers);
  }

  /**
   * Answers with {@code status} (where HTTP has a more precise one than {@code code}'s, such as
   * 417) and the error body of {@code code}, letting {@code headers} add headers.
   */
  public void error(
      HttpResponseStatus status, ErrorCode code, String detail, Consumer<HttpHeaders> headers) {
    metrics.error(code);
    ByteBuf buf = ctx.alloc().buffer(96);
    ErrorBody.write(code, code.reasonWith(detail), buf);
    respond(status, JSON, buf, headers);
  }

  /**
   * Answers with {@code status} and an OAuth error body (RFC 6749 §5.2): {@code {"error": error,
   * "error_description": description}}, counted as an error of {@code code}, letting {@code
   * headers} add headers.
   */
  public void oauthError(
      HttpResponseStatus status,
      ErrorCode code,
      String error,
      String description,
      Consumer<HttpHeaders> headers) {
    metrics.error(code);
    oauthError(status, error, description, headers);
  }

  /**
   * Answers with {@code status} and an OAuth error body (RFC 6749 §5.2) that has no errno and is
   * not counted as an error: the answers of an OAuth endpoint (RFC 8628's {@code
   * authorization_pending}, {@code slow_down}, {@code invalid_grant}, ...), which are steps of its
   * flow; {@code headers}, when not null, adds headers.
   */
  public void oauthError(
      HttpResponseStatus status, String error, String description, Consumer<HttpHeaders> headers) {
    ByteBuf buf = ctx.alloc().buffer(96);
    try (OutputStream out = new ByteBufOutputStream(buf);
        JsonGenerator g = Json.documents().createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("error", error);
      g.writeStringField("error_description", description);
      g.writeEndObject();
    } catch (IOException | RuntimeException e) {
      buf.release();
      error(e);
      return;
    }
    respond(status, JSON, buf, headers);
  }

  /**
   * Answers a failure: a {@link ProtocolException} (also inside a {@link CompletionException}) with
   * its code, anything else with a logged 500 that reveals nothing of the cause.
   */
  public void error(Throwable t) {
    Throwable e = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    if (e instanceof ProtocolException pe) {
      error(pe.code(), pe.detail());
      return;
    }
    LOG.error("{} {} failed", request.method(), uri.path(), e);
    error(ErrorCode.INTERNAL_ERROR, null);
  }

  /** The request's span ({@code otel.*}), ended with the answer; {@code null}: none. */
  void traced(Span span) {
    this.span = span;
  }

  /**
   * Makes the request's span current until the scope is closed, so that spans started meanwhile are
   * its children; {@code null} (nothing to close) when traces are off.
   */
  public Scope traceScope() {
    Span s = span;
    return s == null ? null : s.makeCurrent();
  }

  private void send(FullHttpResponse response) {
    if (!ctx.executor().inEventLoop()) {
      ctx.executor().execute(() -> send(response));
      return;
    }
    Span s = span;
    if (s != null) {
      int status = response.status().code();
      s.setAttribute("http.response.status_code", status);
      if (status >= 500) {
        s.setStatus(StatusCode.ERROR);
      }
      s.end();
    }
    // An answer that says it closes (the router's to a request the codec could not parse, whose
    // decoder now drops the connection's input) closes, whatever the request asked for.
    boolean close =
        !keepAlive
            || !HttpUtil.isKeepAlive(response)
            || connections.draining()
            || !ctx.channel().isActive();
    HttpUtil.setKeepAlive(response, !close);
    metrics.httpResponse(response.status().code());
    metrics.framesOut(Connections.Kind.HTTP.label()).inc();
    var future = ctx.writeAndFlush(response);
    if (close) {
      HttpClose.after(future);
    } else {
      future.addListener(
          f -> {
            Connections.busy(ctx.channel(), false);
            // Reads were paused while this request was answered: one request at a time per
            // connection keeps pipelined answers in order.
            Backpressure.resume(ctx.channel(), Backpressure.BUSY);
          });
    }
  }

  /** Writes one JSON document. */
  @FunctionalInterface
  public interface JsonWriter {
    void write(JsonGenerator g) throws IOException;
  }
}
