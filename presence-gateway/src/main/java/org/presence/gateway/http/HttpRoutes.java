package org.presence.gateway.http;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The node's route table: method and path pattern to an {@link HttpHandler} or a {@link
 * WebSocketEndpoint}. Patterns are {@code /}-separated segments, each a literal or a parameter
 * {@code {name}} or {@code {name:regex}}; the first route that matches wins, so literals go first.
 */
public final class HttpRoutes {
  /** What a request path and method resolve to. */
  public sealed interface Match permits Found, MethodNotAllowed, NotFound {}

  /** A route matched: its target and the decoded path parameters. */
  public record Found(Route route, Map<String, String> params) implements Match {}

  /** The path matched, but not for this method. */
  public record MethodNotAllowed(Set<HttpMethod> allowed) implements Match {}

  /** Nothing matched the path. */
  public record NotFound() implements Match {}

  /**
   * One entry of the table; exactly one of {@code handler} and {@code webSocket} is set. {@code
   * maxBodyBytes} is the route's own body limit, or 0 for the node's {@code
   * limits.max-request-bytes}. {@code answersHead}: a GET route that also answers HEAD (RFC 9110
   * section 9.3.2: the GET answer's status and headers, without its body, which the HTTP codec
   * leaves out); not a stream held open or a WebSocket endpoint. {@code headerCheck}, or null: what
   * the route can decide from a request's header alone (its caller's key), run before any byte of
   * its body is aggregated ({@link HeaderCheck}).
   */
  public record Route(
      HttpMethod method,
      String pattern,
      HttpHandler handler,
      WebSocketEndpoint webSocket,
      int maxBodyBytes,
      boolean answersHead,
      HeaderCheck headerCheck) {
    public Route(
        HttpMethod method,
        String pattern,
        HttpHandler handler,
        WebSocketEndpoint webSocket,
        int maxBodyBytes,
        boolean answersHead) {
      this(method, pattern, handler, webSocket, maxBodyBytes, answersHead, null);
    }
  }

  private record Compiled(Route route, Segment[] segments) {}

  private record Segment(String literal, String param, Pattern regex) {}

  private final List<Compiled> routes;
  private final int largestBodyLimit;
  private final boolean anyHeaderCheck;

  private HttpRoutes(List<Compiled> routes) {
    this.routes = routes;
    this.largestBodyLimit = routes.stream().mapToInt(c -> c.route().maxBodyBytes()).max().orElse(0);
    this.anyHeaderCheck = routes.stream().anyMatch(c -> c.route().headerCheck() != null);
  }

  /** The largest body limit a route sets of its own (0: none sets one). */
  public int largestBodyLimit() {
    return largestBodyLimit;
  }

  /**
   * The body limit of the route {@code method} and raw {@code path} resolve to: its own, or {@code
   * fallback} (also for paths no route takes).
   */
  public int bodyLimit(HttpMethod method, String path, int fallback) {
    if (largestBodyLimit == 0) {
      return fallback;
    }
    Match m = match(method, path);
    if (m instanceof Found f && f.route().maxBodyBytes() > 0) {
      return f.route().maxBodyBytes();
    }
    return fallback;
  }

  /**
   * The route {@code method} and raw {@code path} resolve to, when it has a {@link HeaderCheck}
   * (else null).
   */
  public Found checkedRoute(HttpMethod method, String path) {
    if (!anyHeaderCheck) {
      return null;
    }
    return match(method, path) instanceof Found f && f.route().headerCheck() != null ? f : null;
  }

  /** Every route, in the order they are matched (the API documents are checked against it). */
  public List<Route> routes() {
    return routes.stream().map(Compiled::route).toList();
  }

  /** A new, empty table. */
  public static Builder builder() {
    return new Builder();
  }

  /** Resolves {@code method} on the raw (still percent-encoded) {@code path}. */
  public Match match(HttpMethod method, String path) {
    String[] parts = split(path);
    Set<HttpMethod> allowed = null;
    for (Compiled c : routes) {
      Map<String, String> params = matchPath(c.segments, parts);
      if (params == null) {
        continue;
      }
      if (c.route.method().equals(method)
          || (c.route.answersHead() && HttpMethod.HEAD.equals(method))) {
        return new Found(c.route, params);
      }
      if (allowed == null) {
        allowed = new LinkedHashSet<>();
      }
      allowed.add(c.route.method());
      if (c.route.answersHead()) {
        allowed.add(HttpMethod.HEAD);
      }
    }
    return allowed == null ? new NotFound() : new MethodNotAllowed(allowed);
  }

  private static Map<String, String> matchPath(Segment[] segments, String[] parts) {
    if (segments.length != parts.length) {
      return null;
    }
    Map<String, String> params = null;
    for (int i = 0; i < segments.length; i++) {
      Segment s = segments[i];
      if (s.literal != null) {
        if (!s.literal.equals(parts[i])) {
          return null;
        }
        continue;
      }
      String value;
      try {
        value = QueryStringDecoder.decodeComponent(parts[i]);
      } catch (IllegalArgumentException e) {
        // An undecodable escape matches no parameter (the router answers such paths with 400).
        return null;
      }
      if (value.isEmpty() || (s.regex != null && !s.regex.matcher(value).matches())) {
        return null;
      }
      if (params == null) {
        params = new LinkedHashMap<>();
      }
      params.put(s.param, value);
    }
    return params == null ? Collections.emptyMap() : params;
  }

  /** The segments of a path; a trailing slash is ignored, so {@code /a/} is {@code /a}. */
  static String[] split(String path) {
    String p = path.startsWith("/") ? path.substring(1) : path;
    if (p.endsWith("/")) {
      p = p.substring(0, p.length() - 1);
    }
    return p.isEmpty() ? new String[0] : p.split("/", -1);
  }

  /** Builds a table. */
  public static final class Builder {
    private final List<Compiled> routes = new ArrayList<>();

    /** A GET route, which answers HEAD as well. */
    public Builder get(String pattern, HttpHandler handler) {
      return add(new Route(HttpMethod.GET, pattern, handler, null, 0, true));
    }

    /**
     * A GET route whose answer is a stream held open (server-sent events, a long-held update
     * stream): it does not answer HEAD (405), which would have nothing to end it.
     */
    public Builder stream(String pattern, HttpHandler handler) {
      return add(new Route(HttpMethod.GET, pattern, handler, null, 0, false));
    }

    public Builder post(String pattern, HttpHandler handler) {
      return add(new Route(HttpMethod.POST, pattern, handler, null, 0, false));
    }

    /** A POST route whose bodies may be up to {@code maxBodyBytes}, whatever the node's limit. */
    public Builder post(String pattern, HttpHandler handler, int maxBodyBytes) {
      if (maxBodyBytes < 1) {
        throw new IllegalArgumentException("body limit " + maxBodyBytes);
      }
      return add(new Route(HttpMethod.POST, pattern, handler, null, maxBodyBytes, false));
    }

    /**
     * A POST route whose bodies may be up to {@code maxBodyBytes}, and whose requests are first
     * checked on their header by {@code headerCheck}, before their body is read.
     */
    public Builder post(
        String pattern, HttpHandler handler, int maxBodyBytes, HeaderCheck headerCheck) {
      if (maxBodyBytes < 1) {
        throw new IllegalArgumentException("body limit " + maxBodyBytes);
      }
      return add(
          new Route(HttpMethod.POST, pattern, handler, null, maxBodyBytes, false, headerCheck));
    }

    public Builder put(String pattern, HttpHandler handler) {
      return add(new Route(HttpMethod.PUT, pattern, handler, null, 0, false));
    }

    public Builder delete(String pattern, HttpHandler handler) {
      return add(new Route(HttpMethod.DELETE, pattern, handler, null, 0, false));
    }

    /** A WebSocket endpoint at {@code pattern} (upgraded from a GET). */
    public Builder webSocket(String pattern, WebSocketEndpoint endpoint) {
      return add(new Route(HttpMethod.GET, pattern, null, endpoint, 0, false));
    }

    private Builder add(Route route) {
      String[] parts = split(route.pattern());
      Segment[] segments = new Segment[parts.length];
      for (int i = 0; i < parts.length; i++) {
        String part = parts[i];
        if (part.startsWith("{") && part.endsWith("}")) {
          String inner = part.substring(1, part.length() - 1);
          int colon = inner.indexOf(':');
          segments[i] =
              colon < 0
                  ? new Segment(null, inner, null)
                  : new Segment(
                      null, inner.substring(0, colon), Pattern.compile(inner.substring(colon + 1)));
        } else {
          segments[i] = new Segment(part, null, null);
        }
      }
      routes.add(new Compiled(route, segments));
      return this;
    }

    public HttpRoutes build() {
      return new HttpRoutes(List.copyOf(routes));
    }
  }
}
