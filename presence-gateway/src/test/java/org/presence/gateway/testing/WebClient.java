package org.presence.gateway.testing;

import java.net.CookieManager;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A browser stand-in for page tests: keeps cookies, never follows redirects (tests look at them),
 * posts forms, and picks the anti-forgery token out of the last page.
 */
public final class WebClient {
  private static final Pattern CSRF = Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"");

  private final TestNode node;
  private final HttpClient http;
  private final CookieManager cookies = new CookieManager();
  private String lastCsrf;
  private String userAgent;

  public WebClient(TestNode node) {
    this.node = node;
    this.http =
        HttpClient.newBuilder()
            .cookieHandler(cookies)
            .followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
  }

  /** Sends {@code agent} as the User-Agent of every request from now on. */
  public WebClient userAgent(String agent) {
    this.userAgent = agent;
    return this;
  }

  /** GET {@code path}; remembers the page's form token. */
  public HttpResponse<String> get(String path) {
    HttpResponse<String> r = send(HttpRequest.newBuilder(node.uri(path)).GET().build());
    remember(r);
    return r;
  }

  /** POSTs {@code fields} as a form, with the last page's token unless a csrf field is given. */
  public HttpResponse<String> post(String path, Map<String, String> fields) {
    Map<String, String> all = new LinkedHashMap<>();
    if (lastCsrf != null) {
      all.put("csrf", lastCsrf);
    }
    all.putAll(fields);
    HttpResponse<String> r = postRaw(path, form(all));
    remember(r);
    return r;
  }

  /**
   * POSTs {@code fields} as a form with the last page's token, asking for {@code accept} (as a
   * page's script does with fetch).
   */
  public HttpResponse<String> postAccepting(
      String path, Map<String, String> fields, String accept) {
    Map<String, String> all = new LinkedHashMap<>();
    if (lastCsrf != null) {
      all.put("csrf", lastCsrf);
    }
    all.putAll(fields);
    return send(
        HttpRequest.newBuilder(node.uri(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", accept)
            .POST(HttpRequest.BodyPublishers.ofString(form(all)))
            .build());
  }

  /** POSTs {@code body} as a form exactly as given. */
  public HttpResponse<String> postRaw(String path, String body) {
    return send(
        HttpRequest.newBuilder(node.uri(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build());
  }

  /** POSTs {@code body} as a form exactly as given, bytes that are not UTF-8 included. */
  public HttpResponse<String> postRaw(String path, byte[] body) {
    return send(
        HttpRequest.newBuilder(node.uri(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build());
  }

  /** Signs in with the development sign-in as {@code email}. */
  public WebClient signIn(String email) {
    get("/signin");
    HttpResponse<String> r = post("/signin", Map.of("email", email, "next", "/"));
    if (r.statusCode() != 303) {
      throw new AssertionError("sign-in failed: " + r.statusCode() + " " + r.body());
    }
    return this;
  }

  /** The value of the cookie {@code name} this client holds, or null. */
  public String cookie(String name) {
    return cookies.getCookieStore().getCookies().stream()
        .filter(c -> c.getName().equals(name))
        .map(java.net.HttpCookie::getValue)
        .findFirst()
        .orElse(null);
  }

  /** The form token of the last page. */
  public String csrf() {
    return lastCsrf;
  }

  /** GET an absolute {@code uri} (another site, such as a sign-in provider), with the cookies. */
  public HttpResponse<String> getUri(URI uri) {
    HttpResponse<String> r = send(HttpRequest.newBuilder(uri).GET().build());
    remember(r);
    return r;
  }

  /** Follows a 303 answer's Location (a path on this node). */
  public HttpResponse<String> follow(HttpResponse<String> redirect) {
    String location = redirect.headers().firstValue("Location").orElseThrow();
    return get(location);
  }

  private void remember(HttpResponse<String> r) {
    Matcher m = CSRF.matcher(r.body());
    if (m.find()) {
      lastCsrf = m.group(1);
    }
  }

  /** URL-encodes a form. */
  public static String form(Map<String, String> fields) {
    return fields.entrySet().stream()
        .map(
            e ->
                URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8)
                    + "="
                    + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
        .collect(Collectors.joining("&"));
  }

  private HttpResponse<String> send(HttpRequest request) {
    if (userAgent != null) {
      request =
          HttpRequest.newBuilder(request, (n, v) -> true).header("User-Agent", userAgent).build();
    }
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new AssertionError("request failed: " + request, e);
    }
  }

  /** GET {@code path}, the body as a stream (for long-held answers such as event streams). */
  public HttpResponse<java.io.InputStream> stream(String path) {
    try {
      return http.send(
          HttpRequest.newBuilder(node.uri(path)).GET().build(),
          HttpResponse.BodyHandlers.ofInputStream());
    } catch (Exception e) {
      throw new AssertionError("request failed: " + path, e);
    }
  }

  /** The URI of {@code path} on the node. */
  public URI uri(String path) {
    return node.uri(path);
  }
}
