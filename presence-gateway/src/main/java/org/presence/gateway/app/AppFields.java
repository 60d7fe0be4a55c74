package org.presence.gateway.app;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.regex.Pattern;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.protocol.model.ShownText;

/**
 * Checks and normalises what a developer types in: the application's name, domain, description and
 * webhook URL. Every refusal is an {@code INVALID_APP_FIELD} (135) naming the field. The limits
 * match the columns of {@code V1__apps_grants_settings.sql}.
 */
public final class AppFields {
  /** Longest name. */
  public static final int MAX_NAME = 100;

  /** Longest description. */
  public static final int MAX_DESCRIPTION = 2000;

  /** Longest domain (a DNS name is at most 253 characters) plus an optional {@code :port}. */
  public static final int MAX_DOMAIN = 253;

  /** Longest webhook URL. */
  public static final int MAX_URL = 2048;

  private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
  private static final Pattern IPV4 =
      Pattern.compile(
          "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}");

  private AppFields() {}

  /**
   * The trimmed name: 1–100 characters of one line of visible text ({@link ShownText}: no control
   * or invisible format characters, no unpaired surrogates). Devices show it with every
   * notification the application sends.
   */
  public static String name(String raw) {
    String s = raw == null ? "" : raw.strip();
    if (s.isEmpty()) {
      throw invalid("name", "required");
    }
    if (s.length() > MAX_NAME) {
      throw invalid("name", "at most " + MAX_NAME + " characters");
    }
    String problem = problem(s, false);
    if (problem != null) {
      throw invalid("name", problem);
    }
    return s;
  }

  /**
   * The trimmed description: at most 2000 characters of visible text ({@link ShownText}) in which
   * line breaks and tabs are kept.
   */
  public static String description(String raw) {
    String s = raw == null ? "" : raw.strip().replace("\r\n", "\n");
    if (s.length() > MAX_DESCRIPTION) {
      throw invalid("description", "at most " + MAX_DESCRIPTION + " characters");
    }
    String problem = problem(s, true);
    if (problem != null) {
      throw invalid("description", problem);
    }
    return s;
  }

  /**
   * The domain in lower case: a DNS name of letters, digits and hyphens (two labels or more, or
   * {@code localhost}) or an IPv4 address, optionally with {@code :port}. A full URL typed for it
   * ({@code https://chat.example.com/}) is understood as its host and port; a URL with a path,
   * query, user or another scheme is refused saying to type the domain only.
   */
  public static String domain(String raw) {
    String s = raw == null ? "" : raw.strip().toLowerCase(Locale.ROOT);
    s = withoutScheme(s);
    if (s.endsWith(".")) {
      s = s.substring(0, s.length() - 1);
    }
    if (s.isEmpty()) {
      throw invalid("domain", "required");
    }
    if (s.length() > MAX_DOMAIN + 6) {
      throw invalid("domain", "too long");
    }
    String host = s;
    int colon = s.lastIndexOf(':');
    if (colon >= 0) {
      host = s.substring(0, colon);
      String port = s.substring(colon + 1);
      if (!port.matches("[1-9][0-9]{0,4}") || Integer.parseInt(port) > 65535) {
        throw invalid("domain", "the port after \":\" must be a number from 1 to 65535");
      }
    }
    if (!isHost(host)) {
      throw invalid(
          "domain", "must be a host name such as chat.example.com, without scheme or path");
    }
    return s;
  }

  /** What a developer typed, less a leading {@code http://} or {@code https://} and a final "/". */
  private static String withoutScheme(String s) {
    int scheme = s.indexOf("://");
    if (scheme < 0) {
      if (s.indexOf('/') >= 0 || s.indexOf('@') >= 0 || s.indexOf('?') >= 0) {
        throw invalid("domain", TYPE_DOMAIN_ONLY);
      }
      return s;
    }
    String name = s.substring(0, scheme);
    if (!name.equals("http") && !name.equals("https")) {
      throw invalid("domain", TYPE_DOMAIN_ONLY);
    }
    String rest = s.substring(scheme + 3);
    if (rest.endsWith("/")) {
      rest = rest.substring(0, rest.length() - 1);
    }
    if (rest.isEmpty()
        || rest.indexOf('/') >= 0
        || rest.indexOf('@') >= 0
        || rest.indexOf('?') >= 0
        || rest.indexOf('#') >= 0) {
      throw invalid("domain", TYPE_DOMAIN_ONLY);
    }
    return rest;
  }

  private static final String TYPE_DOMAIN_ONLY =
      "type only the domain, such as chat.example.com, no path (the proof goes at /__presence)";

  /** Whether {@code host} (no port) is a valid DNS name or IPv4 address. */
  static boolean isHost(String host) {
    if (host.length() > MAX_DOMAIN || host.isEmpty()) {
      return false;
    }
    if (IPV4.matcher(host).matches()) {
      return true;
    }
    if (host.equals("localhost")) {
      return true;
    }
    String[] labels = host.split("\\.", -1);
    if (labels.length < 2) {
      return false;
    }
    for (String l : labels) {
      if (!LABEL.matcher(l).matches()) {
        return false;
      }
    }
    // A DNS name's last label is never all digits (that would be an IPv4 address typed wrongly).
    return !labels[labels.length - 1].matches("[0-9]+");
  }

  /** Whether {@code host} is an IPv4 literal (subdomains of it make no sense). */
  public static boolean isIpv4(String host) {
    return IPV4.matcher(host).matches();
  }

  /** The host part of a stored domain. */
  public static String hostOf(String domain) {
    int colon = domain.lastIndexOf(':');
    return colon < 0 ? domain : domain.substring(0, colon);
  }

  /** The port of a stored domain, or -1 when it names none. */
  public static int portOf(String domain) {
    int colon = domain.lastIndexOf(':');
    return colon < 0 ? -1 : Integer.parseInt(domain.substring(colon + 1));
  }

  /**
   * A webhook URL: absolute http or https with a host, no user info or fragment, at most 2048
   * characters. Where it may connect is checked separately (the address guard).
   */
  public static URI webhookUrl(String raw) {
    String s = raw == null ? "" : raw.strip();
    if (s.isEmpty()) {
      throw invalid("webhook_url", "required");
    }
    if (s.length() > MAX_URL) {
      throw invalid("webhook_url", "at most " + MAX_URL + " characters");
    }
    URI uri;
    try {
      uri = new URI(s);
    } catch (URISyntaxException e) {
      throw invalid("webhook_url", "not a URL");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw invalid("webhook_url", "must be http or https");
    }
    if (uri.getHost() == null || uri.getRawUserInfo() != null || uri.getRawFragment() != null) {
      throw invalid("webhook_url", "needs a host and no user info or fragment");
    }
    return uri;
  }

  /**
   * What {@link ShownText} refuses in {@code s} (its first such character), with line feeds and
   * tabs allowed when {@code allowLineBreaks}; {@code null} when {@code s} may be shown.
   * Bidirectional overrides and other invisible format characters make names lie; the zero-width
   * joiner and non-joiner are spelling (emoji sequences, Persian, Indic scripts); an unpaired
   * surrogate is no text (strict JSON parsers on devices refuse the frame that carries it).
   */
  private static String problem(String s, boolean allowLineBreaks) {
    return ShownText.problem(allowLineBreaks ? s.replace('\n', ' ').replace('\t', ' ') : s);
  }

  private static ProtocolException invalid(String field, String why) {
    return new ProtocolException(ErrorCode.INVALID_APP_FIELD, field + ": " + why);
  }
}
