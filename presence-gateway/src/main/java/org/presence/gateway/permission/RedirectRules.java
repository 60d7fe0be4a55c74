package org.presence.gateway.permission;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.presence.gateway.app.AppFields;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * Where a grant may send the user back to (wiki section 3, {@code redirect=<url>}): an absolute
 * http or https URL whose host is the application's verified domain or a subdomain of it (and, when
 * the domain names a port, on that port), with no user info, and without a {@code puid} or {@code
 * error} query parameter of its own (the answer adds one of them: a URL that already carried one
 * would reach the application with two, the first chosen by whoever made the link). Anything else
 * is {@code INVALID_REDIRECT} (150), so the grant page is never an open redirect.
 */
public final class RedirectRules {
  /** Longest redirect URL accepted. */
  public static final int MAX_LENGTH = 2048;

  /** The query parameters the answer adds to the redirect: never in the redirect given. */
  private static final String[] ANSWER_PARAMETERS = {"puid", "error"};

  private RedirectRules() {}

  /** The parsed redirect when it is allowed for an application of {@code domain}. */
  public static URI check(String domain, String redirect) {
    if (redirect == null || redirect.isEmpty()) {
      throw invalid("redirect is required");
    }
    if (redirect.length() > MAX_LENGTH) {
      throw invalid("longer than " + MAX_LENGTH + " characters");
    }
    URI uri;
    try {
      uri = new URI(redirect);
    } catch (URISyntaxException e) {
      throw invalid("not a URL");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw invalid("must be http or https");
    }
    if (uri.getHost() == null || uri.getRawUserInfo() != null) {
      throw invalid("needs a host and no user info");
    }
    String host = uri.getHost().toLowerCase(Locale.ROOT);
    if (host.endsWith(".")) {
      host = host.substring(0, host.length() - 1);
    }
    String appHost = AppFields.hostOf(domain);
    boolean sameHost = host.equals(appHost);
    boolean subdomain = !AppFields.isIpv4(appHost) && host.endsWith("." + appHost);
    if (!sameHost && !subdomain) {
      throw invalid("not on " + appHost + " or a subdomain of it");
    }
    int appPort = AppFields.portOf(domain);
    if (appPort > 0) {
      int port = uri.getPort() > 0 ? uri.getPort() : scheme.equals("https") ? 443 : 80;
      if (port != appPort) {
        throw invalid("not on port " + appPort);
      }
    }
    String taken = answerParameter(uri.getRawQuery());
    if (taken != null) {
      throw invalid(
          "already has a "
              + taken
              + " query parameter: the answer adds it, and the application would read two");
    }
    return uri;
  }

  /**
   * The first parameter of {@code rawQuery} named as one the answer adds ({@code puid}, {@code
   * error}), compared after percent-decoding ({@code p%75id} is {@code puid} to the application),
   * or {@code null}.
   */
  private static String answerParameter(String rawQuery) {
    if (rawQuery == null) {
      return null;
    }
    for (String pair : rawQuery.split("[&;]")) {
      int eq = pair.indexOf('=');
      String rawName = eq < 0 ? pair : pair.substring(0, eq);
      String name;
      try {
        name = URLDecoder.decode(rawName, StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        name = rawName;
      }
      for (String added : ANSWER_PARAMETERS) {
        if (name.equals(added)) {
          return added;
        }
      }
    }
    return null;
  }

  /** {@code uri} with {@code name=value} added to its query (before any fragment). */
  public static String withParam(URI uri, String name, String value) {
    String raw = uri.toString();
    int hash = raw.indexOf('#');
    String fragment = hash < 0 ? "" : raw.substring(hash);
    String base = hash < 0 ? raw : raw.substring(0, hash);
    String sep =
        uri.getRawQuery() == null ? "?" : (base.endsWith("?") || base.endsWith("&") ? "" : "&");
    return base + sep + name + "=" + URLEncoder.encode(value, StandardCharsets.UTF_8) + fragment;
  }

  /** The origin ({@code scheme://host[:port]}) of {@code uri}, for a page's form-action policy. */
  public static String origin(URI uri) {
    String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
    String host = uri.getHost().toLowerCase(Locale.ROOT);
    return uri.getPort() > 0 ? scheme + "://" + host + ":" + uri.getPort() : scheme + "://" + host;
  }

  private static ProtocolException invalid(String detail) {
    return new ProtocolException(ErrorCode.INVALID_REDIRECT, detail);
  }
}
