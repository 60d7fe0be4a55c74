package org.presence.gateway.pages;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.gateway.testing.NotifyFixture.json;

import ch.qos.logback.classic.Level;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.http.HttpExchange;
import org.presence.gateway.http.HttpRoutes;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.LogCapture;
import org.presence.gateway.testing.RawHttp;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WebClient;

/**
 * The pages' answers to what a browser probe found (session 34), driven over HTTP on the embedded
 * default: notices carry no words a link chose, names are bidi-isolated, forms follow
 * POST-redirect-GET, a refused cross-site POST leaves the visitor's anti-forgery cookie alone,
 * destructive buttons ask first, static files are cacheable.
 */
class PageProbeFixesTest {

  @TempDir Path dataDir;
  TestNode node;
  DomainStub site;
  ApiClient dev;

  @BeforeEach
  void start() {
    node = TestNode.embedded(dataDir);
    site = DomainStub.start();
    dev = ApiClient.forEmail(node, "dev@example.com");
  }

  @AfterEach
  void stop() {
    site.close();
    node.close();
  }

  private long register(ApiClient who, String name) {
    HttpResponse<String> r =
        who.post("/api/apps", "{\"name\":\"" + name + "\",\"domain\":\"" + site.domain() + "\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    return json(r).get("id").asLong();
  }

  private long activeApp(String name) {
    long id = register(dev, name);
    site.serveKey(json(dev.get("/api/apps/" + id)).get("verification_key").asText());
    assertThat(dev.post("/api/apps/" + id + "/verify", null).statusCode()).isEqualTo(200);
    assertThat(dev.post("/api/apps/" + id + "/activate", null).statusCode()).isEqualTo(200);
    return id;
  }

  /** Grants application {@code id} to the signed-in {@code web} user as {@code user}; the PUID. */
  private String grant(WebClient web, long id, String user) {
    String redirect = "http://" + site.domain() + "/cb";
    web.get(
        "/"
            + id
            + "/grant?redirect="
            + URLEncoder.encode(redirect, StandardCharsets.UTF_8)
            + "&id="
            + URLEncoder.encode(user, StandardCharsets.UTF_8));
    HttpResponse<String> allowed =
        web.post("/" + id + "/grant", Map.of("redirect", redirect, "id", user, "answer", "allow"));
    assertThat(allowed.statusCode()).as(allowed.body()).isEqualTo(303);
    return allowed.headers().firstValue("Presence-UID").orElseThrow();
  }

  private static String notice(HttpResponse<String> page) {
    String body = page.body();
    int from = body.indexOf("id=\"notice\"");
    assertThat(from).as(body).isPositive();
    return body.substring(from, body.indexOf("</p>", from));
  }

  // M1: a link names no application the user did not just act on.

  @Test
  void settingsNotice_namesNoApplicationALinkChose() {
    String words = "Your account was compromised. Call 555 0100 now, then";
    long hostile = register(ApiClient.forEmail(node, "mallory@example.com"), words);
    WebClient marge = new WebClient(node).signIn("marge@example.com");

    for (String done : new String[] {"revoke", "pause", "resume"}) {
      HttpResponse<String> page = marge.get("/settings?done=" + done + "&app=" + hostile);
      assertThat(page.statusCode()).isEqualTo(200);
      assertThat(page.body()).doesNotContain("compromised");
      assertThat(notice(page)).contains("the application");
    }

    // The user's own action still names the application, once.
    long beer = activeApp("BeerChat");
    String puid = grant(marge, beer, "Fred");
    marge.get("/settings");
    HttpResponse<String> paused = marge.post("/settings/grants/" + puid + "/pause", Map.of());
    assertThat(paused.statusCode()).isEqualTo(303);
    String location = paused.headers().firstValue("Location").orElseThrow();
    assertThat(location).doesNotContain("app=");
    assertThat(notice(marge.follow(paused))).contains("Paused: <bdi>BeerChat</bdi> no longer sees");
    // Shown once: the flash is cleared, and it never names another application.
    assertThat(notice(marge.get(location))).contains("Paused: the application");
    HttpResponse<String> revoked = marge.post("/settings/grants/" + puid + "/revoke", Map.of());
    assertThat(notice(marge.get("/settings?done=revoke&app=" + hostile)))
        .contains("Revoked: <bdi>BeerChat</bdi> has lost")
        .doesNotContain("compromised");
    assertThat(revoked.statusCode()).isEqualTo(303);
  }

  // L3: names others chose are isolated from the sentences around them.

  @Test
  void namesAreBidiIsolated() {
    String arabic = "\u062a\u0637\u0628\u064a\u0642 \u0627\u0644\u062f\u0631\u062f\u0634\u0629";
    long id = activeApp(arabic);
    WebClient marge = new WebClient(node).signIn("marge@example.com");
    String puid = grant(marge, id, "\u0641\u0631\u064a\u062f");
    String settings = marge.get("/settings").body();
    assertThat(settings)
        .contains("<bdi>" + arabic + "</bdi> <span class=\"muted\"><bdi>" + site.domain())
        .contains("<bdi>\u0641\u0631\u064a\u062f</bdi>")
        .contains("<span class=\"visually-hidden\"> <bdi>" + arabic + "</bdi></span>")
        .contains("id=\"signed-in-as\"><bdi>marge@example.com</bdi>");
    HttpResponse<String> paused = marge.post("/settings/grants/" + puid + "/pause", Map.of());
    assertThat(notice(marge.follow(paused)))
        .endsWith(">Paused: <bdi>" + arabic + "</bdi> no longer sees your presence.");

    WebClient devWeb = new WebClient(node).signIn("dev@example.com");
    assertThat(devWeb.get("/myapps").body())
        .contains("<bdi>" + arabic + "</bdi></a></td><td><bdi>" + site.domain() + "</bdi>");
    assertThat(devWeb.get("/myapps/" + id).body())
        .contains("<h1 id=\"app-name\"><bdi>" + arabic + "</bdi></h1>")
        .contains("<dd id=\"app-domain\"><bdi>" + site.domain() + "</bdi></dd>");
  }

  // L2: a POST from another site (no cookies under SameSite=Lax) is refused without replacing the
  // visitor's anti-forgery cookie.

  @Test
  void refusedCrossSitePost_setsNoNewAntiForgeryCookie() {
    for (String path : new String[] {"/signout", "/settings", "/myapps", "/pair"}) {
      HttpResponse<String> r =
          TestNode.send(
              HttpRequest.newBuilder(node.uri(path))
                  .header("Content-Type", "application/x-www-form-urlencoded")
                  .header("Accept", "text/html")
                  .POST(HttpRequest.BodyPublishers.ofString("csrf=x"))
                  .build());
      assertThat(r.statusCode()).as(path).isBetween(300, 499);
      assertThat(r.headers().allValues("Set-Cookie"))
          .as(path)
          .noneMatch(c -> c.startsWith("presence_csrf="));
    }
    // A page still sets one for a new visitor.
    assertThat(node.get("/signin").headers().allValues("Set-Cookie"))
        .anyMatch(c -> c.startsWith("presence_csrf="));
  }

  // L8: destructive buttons ask first, without script (the posting button is inside a closed
  // disclosure).

  private static void asksFirst(String page, String button) {
    int from = page.indexOf("<details class=\"confirm\" id=\"confirm-" + button + "\">");
    assertThat(from).as(button + " has a confirm disclosure").isPositive();
    int to = page.indexOf("</details>", from);
    assertThat(page.substring(from, to))
        .contains("<summary")
        .contains("<button type=\"submit\" id=\"" + button + "\" class=\"danger\">");
    assertThat(page.split("id=\"" + button + "\"", -1)).hasSize(2);
  }

  @Test
  void destructiveButtonsAskFirst() {
    long id = activeApp("BeerChat");
    WebClient devWeb = new WebClient(node).signIn("dev@example.com");
    String app = devWeb.get("/myapps/" + id).body();
    asksFirst(app, "regenerate");
    asksFirst(app, "deactivate");
    asksFirst(devWeb.get("/settings").body(), "sign-out-all-devices");
  }

  // L9: the same Register form sent twice makes one application.

  @Test
  void registerFormSentTwice_makesOneApplication() {
    WebClient devWeb = new WebClient(node).signIn("dev@example.com");
    String page = devWeb.get("/myapps").body();
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("name=\"form_id\" value=\"([^\"]+)\"").matcher(page);
    assertThat(m.find()).as(page).isTrue();
    Map<String, String> form =
        Map.of("form_id", m.group(1), "name", "Twice", "domain", site.domain(), "description", "");
    HttpResponse<String> first = devWeb.post("/myapps", form);
    HttpResponse<String> second = devWeb.post("/myapps", form);
    assertThat(first.statusCode()).isEqualTo(303);
    assertThat(second.statusCode()).isEqualTo(303);
    assertThat(second.headers().firstValue("Location"))
        .isEqualTo(first.headers().firstValue("Location"));
    assertThat(json(dev.get("/api/apps")).get("apps").size()).isEqualTo(1);
    // Another form (a new id) registers another application.
    String again = devWeb.get("/myapps").body();
    m = java.util.regex.Pattern.compile("name=\"form_id\" value=\"([^\"]+)\"").matcher(again);
    assertThat(m.find()).isTrue();
    HttpResponse<String> third =
        devWeb.post(
            "/myapps",
            Map.of(
                "form_id",
                m.group(1),
                "name",
                "Twice",
                "domain",
                site.domain(),
                "description",
                ""));
    assertThat(third.statusCode()).isEqualTo(303);
    assertThat(json(dev.get("/api/apps")).get("apps").size()).isEqualTo(2);
    // A form sent four times at once (the store holds the developer's lock): one application.
    m =
        java.util.regex.Pattern.compile("name=\"form_id\" value=\"([^\"]+)\"")
            .matcher(devWeb.get("/myapps").body());
    assertThat(m.find()).isTrue();
    Map<String, String> once =
        Map.of("form_id", m.group(1), "name", "AtOnce", "domain", site.domain(), "description", "");
    java.util.List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> sent =
        java.util.stream.IntStream.range(0, 4)
            .mapToObj(
                i ->
                    java.util.concurrent.CompletableFuture.supplyAsync(
                        () -> devWeb.post("/myapps", once)))
            .toList();
    java.util.List<String> locations =
        sent.stream().map(f -> f.join().headers().firstValue("Location").orElse("none")).toList();
    assertThat(locations).hasSize(4).allMatch(l -> l.equals(locations.get(0)));
    assertThat(locations.get(0)).startsWith("/myapps/");
    assertThat(json(dev.get("/api/apps")).get("apps").size()).isEqualTo(3);
  }

  // L12: the files pages load are cacheable, revalidated by ETag; pages are not.

  @Test
  void staticFilesAreCacheable_pagesAreNot() {
    for (String path : new String[] {"/static/presence.css", "/static/copy.js"}) {
      HttpResponse<String> r = node.get(path);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("Cache-Control")).as(path).hasValue("public, max-age=3600");
      String etag = r.headers().firstValue("ETag").orElseThrow();
      HttpResponse<String> again =
          TestNode.send(
              HttpRequest.newBuilder(node.uri(path)).header("If-None-Match", etag).GET().build());
      assertThat(again.statusCode()).as(path).isEqualTo(304);
      assertThat(again.body()).isEmpty();
      HttpResponse<String> other =
          TestNode.send(
              HttpRequest.newBuilder(node.uri(path))
                  .header("If-None-Match", "\"something-else\"")
                  .GET()
                  .build());
      assertThat(other.statusCode()).isEqualTo(200);
    }
    assertThat(node.get("/signin").headers().firstValue("Cache-Control")).hasValue("no-store");
  }

  // L7: a sign-in form without the site's cookie says cookies are needed.

  @Test
  void signInWithoutTheCookie_saysCookiesAreNeeded() {
    WebClient fresh = new WebClient(node);
    HttpResponse<String> r = fresh.postRaw("/signin", "email=marge%40example.com&next=%2Fsettings");
    assertThat(r.statusCode()).isEqualTo(303);
    assertThat(r.headers().firstValue("Location"))
        .hasValue("/signin?cookies=needed&next=%2Fsettings");
    HttpResponse<String> page = fresh.follow(r);
    assertThat(page.body()).contains("Signing in needs cookies");
    // With the cookie the page set, signing in works.
    HttpResponse<String> signedIn =
        fresh.post("/signin", Map.of("email", "marge@example.com", "next", "/settings"));
    assertThat(signedIn.statusCode()).isEqualTo(303);
    assertThat(signedIn.headers().firstValue("Location")).hasValue("/settings");
  }

  // L6: the 431 page says to clear the site's cookies; a 409's details are open.

  @Test
  void errorPages_431SaysClearCookies_409ShowsWhy() throws Exception {
    HttpRequest.Builder big =
        HttpRequest.newBuilder(node.uri("/settings")).header("Accept", "text/html");
    for (int i = 0; i < 5; i++) {
      big.header("X-Filler-" + i, "f".repeat(3900));
    }
    HttpResponse<String> tooLarge = TestNode.send(big.GET().build());
    assertThat(tooLarge.statusCode()).isEqualTo(431);
    assertThat(tooLarge.body())
        .contains("Clear this site&#39;s cookies")
        .contains("<title>Request Header Fields Too Large (431) · Presence</title>");
    // L13: one cookie line too long for the codec, before any Accept: a page's GET still gets
    // the page, an API's the JSON.
    String cookie = "Cookie: big=" + "c".repeat(40_000) + "\r\n";
    String page =
        RawHttp.exchange(
            node.port(),
            "GET /settings HTTP/1.1\r\nHost: x\r\n" + cookie + "Accept: text/html\r\n\r\n");
    assertThat(page).startsWith("HTTP/1.1 431").contains("Clear this site&#39;s cookies");
    String api =
        RawHttp.exchange(node.port(), "GET /api/grants HTTP/1.1\r\nHost: x\r\n" + cookie + "\r\n");
    assertThat(api).startsWith("HTTP/1.1 431").contains("\"errno\"").doesNotContain("<html");

    long id = activeApp("BeerChat");
    WebClient marge = new WebClient(node).signIn("marge@example.com");
    for (int i = 0; i < 10; i++) {
      grant(marge, id, "user" + i);
    }
    String redirect = "http://" + site.domain() + "/cb";
    HttpResponse<String> conflict =
        marge.post(
            "/" + id + "/grant", Map.of("redirect", redirect, "id", "one-more", "answer", "allow"));
    assertThat(conflict.statusCode()).isEqualTo(409);
    assertThat(conflict.body())
        .contains("<title>Conflict (409) · Presence</title>")
        .contains("<details id=\"error-details\" open>")
        .contains("the details below say why");
  }

  // Every page form sent with its anti-forgery token and nothing else (a fuzzed POST /N/grant
  // without "answer" was a 500): a clear 4xx or a redirect, never a 5xx.

  @Test
  void everyPageForm_withOnlyItsToken_isNever5xx() {
    long id = activeApp("BeerChat");
    WebClient marge = new WebClient(node).signIn("marge@example.com");
    String puid = grant(marge, id, "Fred");
    WebClient devWeb = new WebClient(node).signIn("dev@example.com");
    devWeb.get("/myapps/" + id);
    String[] devForms = {
      "/myapps",
      "/myapps/" + id + "/webhook",
      "/myapps/" + id + "/webhook-test",
      "/myapps/" + id + "/verify",
      "/myapps/" + id + "/regenerate",
      "/myapps/" + id + "/deactivate",
      "/myapps/" + id + "/activate",
    };
    String[] userForms = {
      "/" + id + "/grant",
      "/" + id,
      "/settings",
      "/settings/grants/" + puid + "/pause",
      "/settings/grants/" + puid + "/resume",
      "/settings/sessions/" + "0".repeat(64) + "/end",
      "/pair",
      "/pair/devices/all/revoke",
      "/settings/devices/sign-out-all",
      "/settings/grants/" + puid + "/revoke",
      "/signin",
      "/signin/oidc",
      "/settings/sessions/end-all",
      "/signout",
    };
    // Every page form the node serves is here: each POST route but the JSON APIs' is posted to.
    java.util.List<String> posted = new java.util.ArrayList<>(java.util.List.of(devForms));
    posted.addAll(java.util.List.of(userForms));
    posted.add("/demo/notify");
    for (HttpRoutes.Route route : node.server().gatewayRoutes().routes()) {
      if (!route.method().equals(io.netty.handler.codec.http.HttpMethod.POST)
          || JSON_POSTS.stream().anyMatch(route.pattern()::startsWith)) {
        continue;
      }
      java.util.regex.Pattern matches = patternRegex(route.pattern());
      assertThat(posted)
          .as("a path of the page form POST %s, for this test to send", route.pattern())
          .anyMatch(path -> matches.matcher(path).matches());
    }
    try (var log = LogCapture.of(HttpExchange.class);
        var anywhere = LogCapture.errorsUnder("org.presence")) {
      HttpResponse<String> demo = marge.post("/demo/notify", Map.of());
      assertThat(demo.statusCode()).as("POST /demo/notify: %s", demo.body()).isLessThan(500);
      for (String path : devForms) {
        HttpResponse<String> r = devWeb.post(path, Map.of());
        assertThat(r.statusCode()).as("POST %s: %s", path, r.body()).isLessThan(500);
      }
      for (String path : userForms) {
        marge.get("/settings");
        HttpResponse<String> r = marge.post(path, Map.of());
        assertThat(r.statusCode()).as("POST %s: %s", path, r.body()).isLessThan(500);
      }
      for (String path : new String[] {"/oauth/device_authorization", "/oauth/token"}) {
        HttpResponse<String> r = marge.postRaw(path, "");
        assertThat(r.statusCode()).as("POST %s: %s", path, r.body()).isLessThan(500);
      }
      assertThat(log.at(Level.ERROR)).isEmpty();
      assertThat(anywhere.at(Level.ERROR)).as("errors logged anywhere in the node").isEmpty();
    }
  }

  /** POST routes that take JSON, not a page form (their own tests send them bad bodies). */
  private static final java.util.List<String> JSON_POSTS =
      java.util.List.of(
          "/api/", "/admin/", "/oauth/", "/push/", "/{appid}/notification", "/{appid}/presence");

  /** A route pattern ({@code /a/{id:[0-9]+}/{x}}) as a regular expression over paths. */
  private static java.util.regex.Pattern patternRegex(String pattern) {
    StringBuilder re = new StringBuilder();
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("\\{([^:}]+)(?::((?:[^{}]|\\{[^}]*\\})+))?\\}")
            .matcher(pattern);
    int at = 0;
    while (m.find()) {
      re.append(java.util.regex.Pattern.quote(pattern.substring(at, m.start())));
      re.append(m.group(2) == null ? "[^/]+" : "(?:" + m.group(2) + ")");
      at = m.end();
    }
    re.append(java.util.regex.Pattern.quote(pattern.substring(at)));
    return java.util.regex.Pattern.compile(re.toString());
  }

  // L5: a refused Register form marks the field its error names; the email field says what it is.

  @Test
  void refusedRegister_marksTheFieldTheErrorNames_andEmailSaysWhatItIs() {
    assertThat(new WebClient(node).get("/signin").body())
        .contains("name=\"email\" maxlength=\"254\" autocomplete=\"email\" required>");
    WebClient devWeb = new WebClient(node).signIn("dev@example.com");
    devWeb.get("/myapps");
    HttpResponse<String> refused =
        devWeb.post("/myapps", Map.of("name", "BeerChat", "domain", "not a host!"));
    assertThat(refused.statusCode()).isEqualTo(400);
    assertThat(refused.body())
        .contains("id=\"error\" role=\"alert\"")
        .contains("aria-describedby=\"error domain-help\" aria-invalid=\"true\"")
        .doesNotContain("value=\"BeerChat\" aria-invalid");
    devWeb.get("/myapps");
    HttpResponse<String> noName =
        devWeb.post("/myapps", Map.of("name", " ", "domain", site.domain()));
    assertThat(noName.statusCode()).isEqualTo(400);
    assertThat(noName.body())
        .contains("aria-invalid=\"true\" aria-describedby=\"error\"")
        .contains("aria-describedby=\"domain-help\">");
  }

  /**
   * L13 with requests sent back to back in one write: the 431 of the second, cut short by its
   * over-long cookie line, is negotiated by its own method and path, not by the first request's
   * (the only one whose start the header deadline sees).
   */
  @Test
  void overLongHeaderLine_ofAPipelinedRequest_goesByItsOwnPath() throws Exception {
    String cookie = "Cookie: big=" + "c".repeat(40_000) + "\r\n";
    String apiAfterPage =
        RawHttp.exchange(
            node.port(),
            "GET /settings HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n\r\n"
                + "GET /api/grants HTTP/1.1\r\nHost: x\r\n"
                + cookie
                + "\r\n");
    String second = apiAfterPage.substring(apiAfterPage.indexOf("HTTP/1.1 431"));
    assertThat(second).contains("\"errno\"").doesNotContain("<html");
    String pageAfterApi =
        RawHttp.exchange(
            node.port(),
            "GET /api/grants HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /settings HTTP/1.1\r\nHost: x\r\n"
                + cookie
                + "Accept: text/html\r\n\r\n");
    second = pageAfterApi.substring(pageAfterApi.indexOf("HTTP/1.1 431"));
    assertThat(second).contains("Clear this site&#39;s cookies");
  }
}
