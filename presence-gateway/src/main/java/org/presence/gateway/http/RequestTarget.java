package org.presence.gateway.http;

import io.netty.handler.codec.http.HttpMethod;

/**
 * The forms of a request's target (RFC 9112 §3.2). The node routes by path and query only, under
 * any host name: an <em>origin-form</em> target ({@code /path?query}) is that already; an
 * <em>absolute-form</em> one ({@code http://host:port/path?query}, which a server MUST accept, RFC
 * 9112 §3.2.2) is routed by its path and query, and its authority takes the {@code Host} header's
 * place. The <em>authority-form</em> ({@code host:port}) is for {@code CONNECT} only and the
 * <em>asterisk-form</em> ({@code *}) for {@code OPTIONS} only: with another method each is refused
 * (400); with theirs they are routed as they are (no route takes them).
 */
final class RequestTarget {
  private RequestTarget() {}

  /**
   * The path and query of {@code target} in origin-form (the target itself when it is in
   * origin-form; {@code /} for an absolute-form target without a path), or {@code null} when the
   * target is not one {@code method} may use: an absolute URI that is not {@code http} or {@code
   * https}, has no host or has user information (RFC 9110 §4.2.1, §4.2.4); {@code *} but with
   * {@code OPTIONS}; anything else but with {@code CONNECT}.
   */
  static String originForm(HttpMethod method, String target) {
    if (target.startsWith("/")) {
      return target;
    }
    int start = authorityStart(target);
    if (start > 0) {
      int end = authorityEnd(target, start);
      String authority = target.substring(start, end);
      if (authority.isEmpty() || authority.indexOf('@') >= 0) {
        return null;
      }
      return end == target.length() || target.charAt(end) != '/'
          ? "/" + target.substring(end)
          : target.substring(end);
    }
    if ("*".equals(target)) {
      return HttpMethod.OPTIONS.equals(method) ? target : null;
    }
    return HttpMethod.CONNECT.equals(method) ? target : null;
  }

  /**
   * The authority of an absolute-form {@code target} ({@code host:port}), or {@code null} when
   * {@code target} is not in absolute-form.
   */
  static String authority(String target) {
    int start = target.startsWith("/") ? -1 : authorityStart(target);
    return start > 0 ? target.substring(start, authorityEnd(target, start)) : null;
  }

  /** Where the authority of an {@code http://} or {@code https://} target starts, else -1. */
  private static int authorityStart(String target) {
    if (target.regionMatches(true, 0, "http://", 0, 7)) {
      return 7;
    }
    if (target.regionMatches(true, 0, "https://", 0, 8)) {
      return 8;
    }
    return -1;
  }

  /** Where the authority that starts at {@code start} ends: its path, query or fragment. */
  private static int authorityEnd(String target, int start) {
    int i = start;
    while (i < target.length() && "/?#".indexOf(target.charAt(i)) < 0) {
      i++;
    }
    return i;
  }
}
