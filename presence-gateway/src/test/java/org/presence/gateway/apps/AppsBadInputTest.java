package org.presence.gateway.apps;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.gateway.testing.NotifyFixture.json;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WebClient;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;

/**
 * Hostile and broken input against the applications features, on the embedded default: script in
 * every text field, forged POSTs, open redirects, private addresses, overlong fields, unknown ids,
 * dead keys, grants for apps that are not active. Each gets its documented status and errno (or the
 * error page) and changes nothing.
 */
class AppsBadInputTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String XSS = "<script>alert(1)</script>";
  private static final String XSS_ATTR = "\"><img src=x onerror=alert(1)>";

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

  private static void assertError(HttpResponse<String> r, ErrorCode code) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(code.httpStatus());
    assertThat(json(r).get("errno").asInt()).as(r.body()).isEqualTo(code.errno());
    assertThat(json(r).get("result").asBoolean()).isFalse();
  }

  /**
   * An error page: the code's status, on an HTML page, no redirect; the status behind the technical
   * details, never the errno.
   */
  private static void assertErrorPage(HttpResponse<String> r, ErrorCode code) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(code.httpStatus());
    assertThat(r.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/html");
    assertThat(r.headers().firstValue("Location")).isEmpty();
    assertThat(r.body()).contains("HTTP " + code.httpStatus()).doesNotContain("errno");
  }

  private long register(String name, String domain, String description) {
    HttpResponse<String> r =
        dev.post(
            "/api/apps",
            "{\"name\":"
                + q(name)
                + ",\"domain\":"
                + q(domain)
                + ",\"description\":"
                + q(description)
                + "}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    return json(r).get("id").asLong();
  }

  private static String q(String s) {
    try {
      return JSON.writeValueAsString(s);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private String activate(long id) {
    String proof = json(dev.get("/api/apps/" + id)).get("verification_key").asText();
    site.serveKey(proof);
    assertThat(dev.post("/api/apps/" + id + "/verify", null).statusCode()).isEqualTo(200);
    return json(dev.post("/api/apps/" + id + "/activate", null)).get("api_key").asText();
  }

  private int appCount() {
    return json(dev.get("/api/apps")).get("apps").size();
  }

  private ErrorCode keyCheck(long id, String key) {
    try {
      node.server()
          .appFeatures()
          .apiKeys()
          .authenticate(id, key)
          .toCompletableFuture()
          .get(10, TimeUnit.SECONDS);
      return null;
    } catch (java.util.concurrent.ExecutionException e) {
      return ((ProtocolException) e.getCause()).code();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static String grantPath(long id, String redirect, String user) {
    return "/"
        + id
        + "/grant?redirect="
        + URLEncoder.encode(redirect, StandardCharsets.UTF_8)
        + "&id="
        + URLEncoder.encode(user, StandardCharsets.UTF_8);
  }

  // ---- cross-site scripting ----

  @Test
  void xss_everyTextFieldIsEscapedOnEveryPage() {
    long id = register(XSS, site.domain(), XSS_ATTR + "\n" + XSS);
    activate(id);
    WebClient devWeb = new WebClient(node).signIn("dev" + XSS + "@example.com");
    // The developer signed in with a hostile email owns nothing; sign in as the owner.
    devWeb = new WebClient(node).signIn("dev@example.com");
    String portal = devWeb.get("/myapps").body();
    String appPage = devWeb.get("/myapps/" + id).body();

    WebClient marge = new WebClient(node).signIn("marge" + XSS + "@example.com");
    // A redirect must be a valid URL (a raw quote or angle bracket makes it a 400), but quotes
    // and parentheses are legal in a query.
    String redirect = "http://" + site.domain() + "/cb?x='onmouseover='alert(1)";
    HttpResponse<String> consent = marge.get(grantPath(id, redirect, XSS_ATTR + XSS));
    assertThat(consent.statusCode()).isEqualTo(200);
    HttpResponse<String> allowed =
        marge.post(
            "/" + id + "/grant",
            Map.of("redirect", redirect, "id", XSS_ATTR + XSS, "answer", "allow"));
    assertThat(allowed.statusCode()).isEqualTo(303);
    assertThat(
            marge
                .post(
                    "/settings",
                    Map.of(
                        "custom_status",
                        XSS,
                        "away_message",
                        XSS_ATTR,
                        "online_within_minutes",
                        "5",
                        "away_after_minutes",
                        "10",
                        "offline_after_minutes",
                        "25"))
                .statusCode())
        .isEqualTo(303);
    String settings = marge.get("/settings").body();
    String signIn =
        new WebClient(node)
            .get("/signin?next=" + URLEncoder.encode("/" + XSS_ATTR, StandardCharsets.UTF_8))
            .body();
    HttpResponse<String> typedBack =
        devWeb.post(
            "/myapps",
            Map.of("name", XSS, "domain", "not a domain " + XSS, "description", XSS_ATTR));
    assertThat(typedBack.statusCode()).isEqualTo(400);

    for (String page :
        List.of(portal, appPage, consent.body(), settings, signIn, typedBack.body())) {
      // No template has an img element, and the only script element is the application page's
      // own copy-button script: any other would have come from user input.
      assertThat(page.replace("<script src=\"/static/copy.js\"></script>", ""))
          .doesNotContain("<script")
          .doesNotContain("<img")
          .doesNotContain("onerror=");
    }
    assertThat(portal).contains("&lt;script&gt;alert(1)&lt;/script&gt;");
    assertThat(appPage).contains("&quot;&gt;&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;");
    assertThat(consent.body())
        .contains("&lt;script&gt;alert(1)&lt;/script&gt;")
        .contains("onmouseover&#x3D;")
        .doesNotContain("'onmouseover");
    assertThat(settings)
        .contains("&lt;script&gt;alert(1)&lt;/script&gt;")
        .contains("marge&lt;script&gt;");
    // The sign-in page's next address is percent-encoded before it is shown (a Location carries
    // it as is), then escaped like any value.
    assertThat(signIn).contains("value=\"/%22%3E%3Cimg");
    assertThat(typedBack.body()).contains("&lt;script&gt;");
    // Every page forbids scripts outright, as a second line.
    assertThat(consent.headers().firstValue("Content-Security-Policy").orElseThrow())
        .startsWith("default-src 'none'")
        .doesNotContain("script-src");
  }

  @Test
  void xss_hostileWebhookUrlsAreRefused() {
    long id = register("Hooks", site.domain(), "");
    for (String url :
        List.of(
            "javascript:alert(1)", "http://x.example.com/\"><script>", "data:text/html,<script>")) {
      assertError(
          dev.put("/api/apps/" + id + "/webhook", "{\"url\":" + q(url) + "}"),
          ErrorCode.INVALID_APP_FIELD);
    }
    assertThat(json(dev.get("/api/apps/" + id)).get("webhook_url").isNull()).isTrue();
  }

  // ---- forged POSTs ----

  @Test
  void csrf_formsWithoutTheVisitorsTokenAreRefusedAndChangeNothing() {
    long id = register("BeerChat", site.domain(), "");
    activate(id);
    WebClient devWeb = new WebClient(node).signIn("dev@example.com");
    devWeb.get("/myapps");
    WebClient attacker = new WebClient(node).signIn("mallory@example.com");
    attacker.get("/myapps");
    String foreignToken = attacker.csrf();

    // No token, a wrong token, another visitor's token: all refused.
    assertErrorPage(
        devWeb.postRaw("/myapps", WebClient.form(Map.of("name", "X", "domain", "x.example.com"))),
        ErrorCode.CSRF_REJECTED);
    assertErrorPage(
        devWeb.post("/myapps", Map.of("csrf", "forged", "name", "X", "domain", "x.example.com")),
        ErrorCode.CSRF_REJECTED);
    assertErrorPage(
        devWeb.post(
            "/myapps", Map.of("csrf", foreignToken, "name", "X", "domain", "x.example.com")),
        ErrorCode.CSRF_REJECTED);
    assertErrorPage(devWeb.postRaw("/myapps/" + id + "/regenerate", ""), ErrorCode.CSRF_REJECTED);
    assertErrorPage(devWeb.postRaw("/myapps/" + id + "/deactivate", ""), ErrorCode.CSRF_REJECTED);
    assertThat(appCount()).isEqualTo(1);
    assertThat(json(dev.get("/api/apps/" + id)).get("state").asText()).isEqualTo("active");

    // A cross-site POST of the consent form: no grant is made.
    WebClient marge = new WebClient(node).signIn("marge@example.com");
    String redirect = "http://" + site.domain() + "/cb";
    HttpResponse<String> forged =
        marge.postRaw(
            "/" + id + "/grant",
            WebClient.form(Map.of("redirect", redirect, "id", "Fred", "answer", "allow")));
    assertErrorPage(forged, ErrorCode.CSRF_REJECTED);
    assertThat(forged.headers().firstValue("Presence-UID")).isEmpty();
    assertThat(json(ApiClient.forEmail(node, "marge@example.com").get("/api/grants")).get("grants"))
        .isEmpty();

    // Settings and grant toggles.
    String puid =
        json(ApiClient.forEmail(node, "marge@example.com")
                .post("/api/grants", "{\"app_id\":" + id + ",\"id\":\"Fred\"}"))
            .get("puid")
            .asText();
    assertErrorPage(
        marge.postRaw("/settings/grants/" + puid + "/revoke", ""), ErrorCode.CSRF_REJECTED);
    assertErrorPage(marge.postRaw("/settings", "custom_status=pwned"), ErrorCode.CSRF_REJECTED);
    JsonNode grants = json(ApiClient.forEmail(node, "marge@example.com").get("/api/grants"));
    assertThat(grants.get("grants")).hasSize(1);
    assertThat(grants.get("grants").get(0).get("enabled").asBoolean()).isTrue();
    assertThat(
            json(ApiClient.forEmail(node, "marge@example.com").get("/api/settings"))
                .get("custom_status")
                .asText())
        .isEmpty();

    // Login forgery and sign-out forgery.
    // (A form without the site's cookie goes back to the sign-in page, which says cookies are
    // needed; no session.)
    WebClient fresh = new WebClient(node);
    HttpResponse<String> loginForged = fresh.postRaw("/signin", "email=mallory%40example.com");
    assertThat(loginForged.statusCode()).isEqualTo(303);
    assertThat(loginForged.headers().firstValue("Location").orElseThrow())
        .startsWith("/signin?cookies=needed");
    assertThat(fresh.cookie("presence_session")).isNull();
    assertErrorPage(marge.postRaw("/signout", ""), ErrorCode.CSRF_REJECTED);
    assertThat(marge.get("/settings").statusCode()).as("still signed in").isEqualTo(200);
  }

  /**
   * The development sign-in takes an email of one line of visible text ({@code ShownText}, as
   * pairing's client ids and device names): a format or control character anywhere in it is
   * answered as any other address that is not one, and opens no session.
   */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "mallory\u202E@example.com",
        "mallory@exa\u202Emple.com",
        "mal\u200Blory@example.com",
        "\uFEFFmallory@example.com",
        "mallory@example.com\u2066",
        "mal\u2028lory@example.com",
        "mal\u00ADlory@example.com",
        "mal\u0007lory@example.com",
        "no-at-sign"
      })
  void devSignIn_refusesAnEmailWithInvisibleCharacters_asAnyOtherInvalidOne(String email) {
    WebClient w = new WebClient(node);
    w.get("/signin");
    HttpResponse<String> r = w.post("/signin", Map.of("email", email, "next", "/"));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(ErrorCode.INVALID_FIELD_VALUE.httpStatus());
    assertThat(r.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/html");
    assertThat(r.body()).contains("not an email address");
    assertThat(r.headers().allValues("Set-Cookie"))
        .noneMatch(c -> c.startsWith("presence_session="));
  }

  @Test
  void pages_postsWithoutSessionOrWithoutFormAreRefused() {
    WebClient anonymous = new WebClient(node);
    anonymous.get("/signin");
    assertErrorPage(
        anonymous.post("/myapps", Map.of("name", "X", "domain", "x.example.com")),
        ErrorCode.UNAUTHORIZED);
    assertThat(anonymous.get("/myapps").statusCode()).isEqualTo(303);
    assertThat(anonymous.get("/settings").headers().firstValue("Location").orElseThrow())
        .isEqualTo("/signin?next=%2Fsettings");
    WebClient devWeb = new WebClient(node).signIn("dev@example.com");
    devWeb.get("/myapps");
    HttpResponse<String> json =
        TestNode.send(
            HttpRequest.newBuilder(node.uri("/myapps"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"x\"}"))
                .build());
    assertThat(json.statusCode()).isIn(401, 403, 415);
    assertThat(appCount()).isZero();
  }

  // ---- open redirects ----

  @ParameterizedTest
  @ValueSource(
      strings = {
        "http://evil.example.com/cb",
        "https://127.0.0.1.evil.example.com/cb",
        "javascript:alert(1)",
        "//evil.example.com/cb",
        "/relative/path",
        "ftp://127.0.0.1/cb",
        "http://evil.example.com\\@127.0.0.1/cb",
        "http://user@127.0.0.1:PORT/cb",
        "http://127.0.0.1:1/cb",
        "http://127.0.0.2:PORT/cb",
        ""
      })
  void openRedirect_isRefusedOnThePageThePostAndTheApi(String raw) {
    long id = register("BeerChat", site.domain(), "");
    activate(id);
    String redirect = raw.replace("PORT", Integer.toString(site.port()));
    WebClient marge = new WebClient(node).signIn("marge@example.com");
    assertErrorPage(marge.get(grantPath(id, redirect, "Fred")), ErrorCode.INVALID_REDIRECT);
    marge.get("/settings");
    for (String answer : List.of("allow", "deny")) {
      HttpResponse<String> post =
          marge.post(
              "/" + id + "/grant", Map.of("redirect", redirect, "id", "Fred", "answer", answer));
      assertErrorPage(post, ErrorCode.INVALID_REDIRECT);
    }
    ApiClient api = ApiClient.forEmail(node, "marge@example.com");
    assertError(
        api.post(
            "/api/grants",
            "{\"app_id\":" + id + ",\"id\":\"Fred\",\"redirect\":" + q(redirect) + "}"),
        ErrorCode.INVALID_REDIRECT);
    assertThat(json(api.get("/api/grants")).get("grants")).isEmpty();
  }

  /**
   * A redirect carrying a parameter the answer adds ({@code puid}, {@code error}) is refused, or
   * the application would get two and might read the one whoever made the link chose.
   */
  @ParameterizedTest
  @ValueSource(strings = {"puid", "error"})
  void redirectWithTheAnswersOwnParameter_isRefusedOnThePageThePostAndTheApi(String param) {
    long id = register("PollutedChat", site.domain(), "");
    activate(id);
    String redirect = "http://127.0.0.1:" + site.port() + "/cb?a=1&" + param + "=attacker";
    String reason = "already has a " + param + " query parameter";
    WebClient marge = new WebClient(node).signIn("marge@example.com");
    HttpResponse<String> page = marge.get(grantPath(id, redirect, "Fred"));
    assertErrorPage(page, ErrorCode.INVALID_REDIRECT);
    assertThat(page.body()).contains(reason);
    marge.get("/settings");
    for (String answer : List.of("allow", "deny")) {
      HttpResponse<String> post =
          marge.post(
              "/" + id + "/grant", Map.of("redirect", redirect, "id", "Fred", "answer", answer));
      assertErrorPage(post, ErrorCode.INVALID_REDIRECT);
    }
    ApiClient api = ApiClient.forEmail(node, "marge@example.com");
    HttpResponse<String> r =
        api.post(
            "/api/grants",
            "{\"app_id\":" + id + ",\"id\":\"Fred\",\"redirect\":" + q(redirect) + "}");
    assertError(r, ErrorCode.INVALID_REDIRECT);
    assertThat(json(r).get("reason").asText()).contains(reason);
    assertThat(json(api.get("/api/grants")).get("grants")).isEmpty();
    // The same URL without it is fine, and the answer adds the one PUID.
    String clean = "http://127.0.0.1:" + site.port() + "/cb?a=1";
    HttpResponse<String> ok =
        api.post(
            "/api/grants", "{\"app_id\":" + id + ",\"id\":\"Fred\",\"redirect\":" + q(clean) + "}");
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    String puid = json(ok).get("puid").asText();
    assertThat(json(ok).get("redirect").asText()).isEqualTo(clean + "&puid=" + puid);
  }

  @Test
  void openRedirect_subdomainsOfTheVerifiedDomainAreAllowed() {
    // Unit-level check of the rule with a DNS name (the stub's domain is an address).
    assertThat(
            org.presence.gateway.permission.RedirectRules.check(
                    "chat.example.com", "https://m.chat.example.com/cb?x=1")
                .getHost())
        .isEqualTo("m.chat.example.com");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "//evil.example.com",
        "https://evil.example.com",
        "/\\evil.example.com",
        "javascript:alert(1)"
      })
  void openRedirect_signInNeverLeavesTheNode(String next) {
    WebClient w = new WebClient(node);
    w.get("/signin");
    HttpResponse<String> r = w.post("/signin", Map.of("email", "marge@example.com", "next", next));
    assertThat(r.statusCode()).isEqualTo(303);
    assertThat(r.headers().firstValue("Location").orElseThrow()).isEqualTo("/");
  }

  // ---- private addresses ----

  @ParameterizedTest
  @ValueSource(
      strings = {
        "10.0.0.1",
        "192.168.1.10:8080",
        "172.16.5.4",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0"
      })
  void privateAddress_domainProofIsRefusedWithoutConnecting(String domain) {
    long id = register("Inside", domain, "");
    HttpResponse<String> r = dev.post("/api/apps/" + id + "/verify", null);
    assertError(r, ErrorCode.ADDRESS_NOT_ALLOWED);
    assertThat(json(dev.get("/api/apps/" + id)).get("state").asText()).isEqualTo("registered");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "http://10.1.2.3/hook",
        "https://192.168.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://0.0.0.0/hook"
      })
  void privateAddress_webhookIsRefused(String url) {
    long id = register("Hooks", site.domain(), "");
    assertError(
        dev.put("/api/apps/" + id + "/webhook", "{\"url\":" + q(url) + "}"),
        ErrorCode.ADDRESS_NOT_ALLOWED);
    assertThat(json(dev.get("/api/apps/" + id)).get("webhook_url").isNull()).isTrue();
    WebClient devWeb = new WebClient(node).signIn("dev@example.com");
    devWeb.get("/myapps/" + id);
    HttpResponse<String> page = devWeb.post("/myapps/" + id + "/webhook", Map.of("url", url));
    assertThat(page.statusCode()).isEqualTo(ErrorCode.ADDRESS_NOT_ALLOWED.httpStatus());
    assertThat(page.body()).contains("Address not allowed");
  }

  @Test
  void privateAddress_loopbackIsRefusedWhereConfigurationDoesNotAllowIt() {
    node.close();
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("outbound.allow-loopback", "false");
    node = TestNode.start(s, r -> {});
    dev = ApiClient.forEmail(node, "dev@example.com");
    for (String domain : List.of(site.domain(), "localhost:" + site.port())) {
      long id = register("Loop", domain, "");
      site.serveKey(json(dev.get("/api/apps/" + id)).get("verification_key").asText());
      assertError(dev.post("/api/apps/" + id + "/verify", null), ErrorCode.ADDRESS_NOT_ALLOWED);
      assertError(
          dev.put("/api/apps/" + id + "/webhook", "{\"url\":\"http://" + domain + "/hook\"}"),
          ErrorCode.ADDRESS_NOT_ALLOWED);
    }
    assertThat(site.requests()).as("the guard refuses before connecting").isEmpty();
  }

  // ---- overlong and malformed fields ----

  @Test
  void overlong_fieldsAreRefusedAndNothingIsStored() {
    String d = site.domain();
    assertError(
        dev.post("/api/apps", "{\"name\":" + q("n".repeat(101)) + ",\"domain\":" + q(d) + "}"),
        ErrorCode.INVALID_APP_FIELD);
    assertError(
        dev.post(
            "/api/apps",
            "{\"name\":\"ok\",\"domain\":"
                + q(d)
                + ",\"description\":"
                + q("d".repeat(2001))
                + "}"),
        ErrorCode.INVALID_APP_FIELD);
    assertError(
        dev.post(
            "/api/apps",
            "{\"name\":\"ok\",\"domain\":" + q("a".repeat(250) + ".example.com") + "}"),
        ErrorCode.INVALID_APP_FIELD);
    assertError(
        dev.post("/api/apps", "{\"name\":\"ok\",\"domain\":\"http://x.example.com/app\"}"),
        ErrorCode.INVALID_APP_FIELD);
    assertError(
        dev.post("/api/apps", "{\"name\":\"ok\",\"domain\":\"x.example.com:99999\"}"),
        ErrorCode.INVALID_APP_FIELD);
    assertError(
        dev.post("/api/apps", "{\"name\":\"\\u202eevil\",\"domain\":\"x.example.com\"}"),
        ErrorCode.INVALID_APP_FIELD);
    assertError(
        dev.post("/api/apps", "{\"name\":\"  \",\"domain\":\"x.example.com\"}"),
        ErrorCode.INVALID_APP_FIELD);
    assertThat(appCount()).isZero();

    long id = register("BeerChat", d, "");
    activate(id);
    assertError(
        dev.put(
            "/api/apps/" + id + "/webhook",
            "{\"url\":" + q("http://" + d + "/" + "p".repeat(2048)) + "}"),
        ErrorCode.INVALID_APP_FIELD);

    ApiClient marge = ApiClient.forEmail(node, "marge@example.com");
    assertError(
        marge.post("/api/grants", "{\"app_id\":" + id + ",\"id\":" + q("u".repeat(101)) + "}"),
        ErrorCode.INVALID_USER_STRING);
    assertError(
        marge.post("/api/grants", "{\"app_id\":" + id + ",\"id\":\"\"}"),
        ErrorCode.INVALID_USER_STRING);
    assertError(
        marge.post("/api/grants", "{\"app_id\":" + id + ",\"id\":\"a\\u0000b\"}"),
        ErrorCode.INVALID_USER_STRING);
    assertThat(json(marge.get("/api/grants")).get("grants")).isEmpty();

    assertError(
        marge.put("/api/settings", "{\"custom_status\":" + q("s".repeat(141)) + "}"),
        ErrorCode.INVALID_SETTING);
    // The user's own messages follow a device status message's character rule (ShownText).
    assertError(
        marge.put("/api/settings", "{\"custom_status\":\"back \\u202Esoon\"}"),
        ErrorCode.INVALID_SETTING);
    assertError(
        marge.put("/api/settings", "{\"away_message\":\"a \\ud83d b\"}"),
        ErrorCode.INVALID_SETTING);
    assertError(
        marge.put("/api/settings", "{\"online_within_minutes\":7}"), ErrorCode.INVALID_SETTING);
    assertError(
        marge.put("/api/settings", "{\"away_after_minutes\":20,\"offline_after_minutes\":10}"),
        ErrorCode.INVALID_SETTING);
    // Contradictory: online for 20 minutes after the last use, but away after 5.
    assertError(
        marge.put("/api/settings", "{\"online_within_minutes\":20,\"away_after_minutes\":5}"),
        ErrorCode.INVALID_SETTING);
    assertError(
        marge.put("/api/settings", "{\"online_within_minutes\":\"five\"}"),
        ErrorCode.WRONG_FIELD_TYPE);
    assertError(
        marge.put("/api/settings", "{\"online_within_minutes\":99999999999}"),
        ErrorCode.INVALID_FIELD_VALUE);
    // A number that fits no long is out of the field's range as well, not malformed JSON.
    HttpResponse<String> huge =
        marge.put("/api/settings", "{\"online_within_minutes\":99999999999999999999}");
    assertError(huge, ErrorCode.INVALID_FIELD_VALUE);
    assertThat(json(huge).get("reason").asText())
        .isEqualTo("Invalid field value: online_within_minutes: out of range");
    JsonNode s = json(marge.get("/api/settings"));
    assertThat(s.get("online_within_minutes").asInt()).isEqualTo(5);
    assertThat(s.get("custom_status").asText()).isEmpty();

    WebClient margeWeb = new WebClient(node).signIn("marge@example.com");
    margeWeb.get("/settings");
    HttpResponse<String> page =
        margeWeb.post(
            "/settings",
            Map.of(
                "custom_status",
                "s".repeat(141),
                "online_within_minutes",
                "5",
                "away_after_minutes",
                "10",
                "offline_after_minutes",
                "25"));
    assertThat(page.statusCode()).isEqualTo(400);
    assertThat(page.body()).contains("Invalid setting");
    HttpResponse<String> signIn = new WebClient(node).get("/signin");
    assertThat(signIn.statusCode()).isEqualTo(200);
  }

  /**
   * An application's name and description reach devices in notification frames: an unpaired
   * surrogate (which a JSON string can escape, but no UTF-8 text can hold) is refused like in every
   * other text field, and nothing is stored.
   */
  @Test
  void unpairedSurrogate_inTheAppsNameOrDescription_isInvalidAppField() {
    String d = site.domain();
    for (String body :
        List.of(
            "{\"name\":\"Evil\\ud800\",\"domain\":" + q(d) + "}",
            "{\"name\":\"\\udc00Evil\",\"domain\":" + q(d) + "}",
            "{\"name\":\"Evil\",\"domain\":" + q(d) + ",\"description\":\"a\\nb\\ud83d\"}")) {
      HttpResponse<String> r = dev.post("/api/apps", body);
      assertError(r, ErrorCode.INVALID_APP_FIELD);
      assertThat(json(r).get("reason").asText()).as(body).contains("unpaired surrogate U+");
    }
    assertThat(appCount()).isZero();
    // A pair (an emoji) is a character like any other, in both; the description keeps its lines.
    long id = register("Beer \ud83c\udf7a", d, "Chat\nabout \ud83c\udf7a");
    JsonNode app = json(dev.get("/api/apps/" + id));
    assertThat(app.get("name").asText()).isEqualTo("Beer \ud83c\udf7a");
    assertThat(app.get("description").asText()).isEqualTo("Chat\nabout \ud83c\udf7a");
  }

  /**
   * A PUID in a path that is not 43 base64url characters (a NUL, which PostgreSQL refuses) names no
   * grant: {@code UNKNOWN_PUID} on the API, the 404 page on the settings page's buttons.
   */
  @Test
  void malformedPuid_inThePath_isUnknownPuid() {
    long id = register("BeerChat", site.domain(), "");
    activate(id);
    ApiClient marge = ApiClient.forEmail(node, "marge@example.com");
    String puid =
        json(marge.post("/api/grants", "{\"app_id\":" + id + ",\"id\":\"Fred\"}"))
            .get("puid")
            .asText();
    for (String bad : List.of("%00", "a%00b", puid + "%00", puid.substring(1) + "%00", "nope")) {
      assertError(marge.put("/api/grants/" + bad, "{\"enabled\":false}"), ErrorCode.UNKNOWN_PUID);
      assertError(marge.delete("/api/grants/" + bad), ErrorCode.UNKNOWN_PUID);
    }
    WebClient web = new WebClient(node).signIn("marge@example.com");
    web.get("/settings");
    for (String action : List.of("pause", "resume", "revoke")) {
      assertErrorPage(web.post("/settings/grants/%00/" + action, Map.of()), ErrorCode.UNKNOWN_PUID);
      assertErrorPage(
          web.post("/settings/grants/a%00b/" + action, Map.of()), ErrorCode.UNKNOWN_PUID);
    }
    JsonNode grants = json(marge.get("/api/grants")).get("grants");
    assertThat(grants).hasSize(1);
    assertThat(grants.get(0).get("enabled").asBoolean()).isTrue();
  }

  @Test
  void malformed_apiRequestsGetTheirErrno() {
    assertError(
        ApiClient.forEmail(node, "dev@example.com").send("POST", "/api/apps", "{\"name\":"),
        ErrorCode.MALFORMED_JSON);
    assertError(dev.post("/api/apps", "[1,2]"), ErrorCode.MALFORMED_JSON);
    assertError(dev.post("/api/apps", "{\"name\":{\"nested\":1}}"), ErrorCode.WRONG_FIELD_TYPE);
    HttpResponse<String> twice = dev.post("/api/apps", "{\"name\":\"a\",\"name\":\"b\"}");
    assertError(twice, ErrorCode.DUPLICATE_FIELD);
    assertThat(json(twice).get("reason").asText()).isEqualTo("Duplicate field: name");
    // Reasons in plain words, without the parser's messages, classes or features.
    for (String[] bad :
        new String[][] {
          {"{\"name\":Infinity}", "Malformed JSON: not JSON: invalid number at byte 16"},
          {"\uFEFF{\"name\":x}", "Malformed JSON: not JSON: un"},
          {"{\"name\":\"x\"", "Malformed JSON: not JSON: unexpected end at byte "},
          {"{\"a\":1" + "0".repeat(30) + "}", "Malformed JSON: number too long"},
        }) {
      HttpResponse<String> r = dev.post("/api/apps", bad[0]);
      assertError(r, ErrorCode.MALFORMED_JSON);
      assertThat(json(r).get("reason").asText()).as(bad[0]).startsWith(bad[1]);
    }
    HttpResponse<String> text =
        TestNode.send(
            HttpRequest.newBuilder(node.uri("/api/apps"))
                .header("Authorization", "Bearer " + node.token("dev@example.com"))
                .header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString("name=x"))
                .build());
    assertError(text, ErrorCode.UNSUPPORTED_MEDIA_TYPE);
    // Another media type that starts like JSON's is not JSON, nor JSON in another charset than
    // UTF-8 (it would be read as UTF-8); JSON with UTF-8's charset is.
    for (String type :
        List.of(
            "application/jsonx",
            "application/json-seq",
            "application/json; charset=utf-16",
            "application/json; charset=\"iso-8859-1\"")) {
      assertError(
          TestNode.send(
              HttpRequest.newBuilder(node.uri("/api/apps"))
                  .header("Authorization", "Bearer " + node.token("dev@example.com"))
                  .header("Content-Type", type)
                  .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"x\"}"))
                  .build()),
          ErrorCode.UNSUPPORTED_MEDIA_TYPE);
    }
    assertThat(
            TestNode.send(
                    HttpRequest.newBuilder(node.uri("/api/apps"))
                        .header("Authorization", "Bearer " + node.token("dev@example.com"))
                        .header("Content-Type", "Application/JSON ; charset=UTF-8")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"typed\"}"))
                        .build())
                .statusCode())
        .isNotEqualTo(ErrorCode.UNSUPPORTED_MEDIA_TYPE.httpStatus());
    assertError(
        dev.post("/api/apps", "{\"name\":\"" + "x".repeat(70_000) + "\"}"),
        ErrorCode.PAYLOAD_TOO_LARGE);
    assertThat(appCount()).isZero();
  }

  @Test
  void emptyBody_onACallThatTakesOne_isMalformedJson_andChangesNothing() {
    long id = register("Empty", "empty.example.com", "");
    ApiClient user = ApiClient.forEmail(node, "user@example.com");
    assertThat(user.put("/api/settings", "{\"custom_status\":\"here\"}").statusCode())
        .isEqualTo(200);
    String[][] calls = {
      {"POST", "/api/apps"},
      {"PUT", "/api/apps/" + id + "/webhook"},
      {"POST", "/api/grants"},
      {"PUT", "/api/grants/" + "A".repeat(43)},
      {"PUT", "/api/settings"}
    };
    for (String[] call : calls) {
      ApiClient caller = call[1].startsWith("/api/apps") ? dev : user;
      // An empty body is no JSON document: refused as any other malformed JSON...
      assertError(caller.send(call[0], call[1], ""), ErrorCode.MALFORMED_JSON);
      // ...and one without a type is not JSON at all.
      assertError(caller.send(call[0], call[1], null), ErrorCode.UNSUPPORTED_MEDIA_TYPE);
    }
    assertThat(appCount()).isEqualTo(1);
    assertThat(json(dev.get("/api/apps/" + id)).get("webhook_url").isNull()).isTrue();
    assertThat(json(user.get("/api/grants")).get("grants")).isEmpty();
    assertThat(json(user.get("/api/settings")).get("custom_status").asText()).isEqualTo("here");
    // An empty object is a document: a change of nothing.
    assertThat(user.put("/api/settings", "{}").statusCode()).isEqualTo(200);
    // A call that takes no body still takes an empty one: it reaches its action.
    assertError(dev.post("/api/apps/" + id + "/deactivate", null), ErrorCode.APP_NOT_ACTIVE);
  }

  @Test
  void forms_withAFieldTwiceOrInvalidUtf8_getTheErrorPage_andChangeNothing() {
    WebClient web = new WebClient(node).signIn("homer@example.com");
    web.get("/settings");
    String head =
        "csrf="
            + URLEncoder.encode(web.csrf(), StandardCharsets.UTF_8)
            + "&online_within_minutes=5&away_after_minutes=10&offline_after_minutes=25";
    // A field twice: neither value counts, the form is refused.
    HttpResponse<String> twice =
        web.postRaw("/settings", head + "&custom_status=a&custom_status=b");
    assertErrorPage(twice, ErrorCode.DUPLICATE_FIELD);
    assertThat(twice.body()).contains("Duplicate field: custom_status");
    assertErrorPage(
        web.postRaw(
            "/settings", head + "&csrf=" + URLEncoder.encode(web.csrf(), StandardCharsets.UTF_8)),
        ErrorCode.DUPLICATE_FIELD);
    // Invalid UTF-8, percent-encoded or raw, is refused rather than stored as U+FFFD.
    for (String bad : List.of("%C0%BC", "%ED%A0%80", "%FF", "%E2%82")) {
      HttpResponse<String> r = web.postRaw("/settings", head + "&custom_status=x" + bad + "y");
      assertErrorPage(r, ErrorCode.BAD_REQUEST);
      assertThat(r.body()).as(bad).contains("not valid UTF-8");
    }
    byte[] raw = (head + "&custom_status=x\u0000y").getBytes(StandardCharsets.UTF_8);
    raw[raw.length - 2] = (byte) 0xFF;
    assertErrorPage(web.postRaw("/settings", raw), ErrorCode.BAD_REQUEST);
    ApiClient homer = ApiClient.forEmail(node, "homer@example.com");
    assertThat(json(homer.get("/api/settings")).get("custom_status").asText()).isEmpty();
    // The same form with each field once, in UTF-8, is saved.
    HttpResponse<String> saved = web.postRaw("/settings", head + "&custom_status=x%C3%A9y");
    assertThat(saved.statusCode()).as(saved.body()).isEqualTo(303);
    assertThat(json(homer.get("/api/settings")).get("custom_status").asText())
        .isEqualTo("x\u00e9y");
  }

  @Test
  void auth_apiCallsNeedAValidToken() {
    HttpResponse<String> none = new ApiClient(node, null).get("/api/apps");
    assertError(none, ErrorCode.UNAUTHORIZED);
    assertThat(none.headers().firstValue("WWW-Authenticate").orElseThrow()).isEqualTo("Bearer");
    assertError(new ApiClient(node, "not.a.token").get("/api/apps"), ErrorCode.INVALID_ASSERTION);
    assertError(new ApiClient(node, null).post("/api/apps", "{\"name\":"), ErrorCode.UNAUTHORIZED);
    assertError(new ApiClient(node, null).get("/api/settings"), ErrorCode.UNAUTHORIZED);
    WebClient w = new WebClient(node);
    w.get("/signin");
    HttpResponse<String> bad = w.post("/signin", Map.of("token", "not.a.token"));
    assertThat(bad.statusCode()).isEqualTo(401);
    assertThat(bad.body()).contains("Invalid assertion");
    assertThat(bad.headers().allValues("Set-Cookie"))
        .noneMatch(c -> c.startsWith("presence_session="));
    // A forged session cookie is no session.
    HttpResponse<String> forged =
        TestNode.send(
            HttpRequest.newBuilder(node.uri("/settings"))
                .header("Cookie", "presence_session=djEKZGV2OmV2ZQo.AAAA")
                .GET()
                .build());
    assertThat(forged.statusCode()).isEqualTo(303);
  }

  // ---- unknown ids, foreign apps, dead keys ----

  @Test
  void unknownIds_andOtherDevelopersApps() {
    assertError(dev.get("/api/apps/999999"), ErrorCode.UNKNOWN_APP);
    assertError(dev.get("/api/apps/abc"), ErrorCode.UNKNOWN_APP);
    assertError(dev.post("/api/apps/999999/verify", null), ErrorCode.UNKNOWN_APP);
    long id = register("Mine", site.domain(), "");
    ApiClient other = ApiClient.forEmail(node, "mallory@example.com");
    assertError(other.get("/api/apps/" + id), ErrorCode.FORBIDDEN);
    assertError(other.post("/api/apps/" + id + "/verify", null), ErrorCode.FORBIDDEN);
    assertError(
        other.put("/api/apps/" + id + "/webhook", "{\"url\":\"http://" + site.domain() + "/x\"}"),
        ErrorCode.FORBIDDEN);
    WebClient malloryWeb = new WebClient(node).signIn("mallory@example.com");
    assertErrorPage(malloryWeb.get("/myapps/" + id), ErrorCode.FORBIDDEN);
    malloryWeb.get("/myapps");
    assertErrorPage(malloryWeb.post("/myapps/" + id + "/verify", Map.of()), ErrorCode.FORBIDDEN);
    assertErrorPage(malloryWeb.get("/myapps/999999"), ErrorCode.UNKNOWN_APP);

    WebClient marge = new WebClient(node).signIn("marge@example.com");
    assertErrorPage(
        marge.get(grantPath(999999, "http://x.example.com/", "Fred")), ErrorCode.UNKNOWN_APP);
    assertError(
        ApiClient.forEmail(node, "marge@example.com")
            .post("/api/grants", "{\"app_id\":999999,\"id\":\"Fred\"}"),
        ErrorCode.UNKNOWN_APP);
    assertError(
        ApiClient.forEmail(node, "marge@example.com")
            .put("/api/grants/nope", "{\"enabled\":false}"),
        ErrorCode.UNKNOWN_PUID);
    assertThat(keyCheck(999999, "k")).isEqualTo(ErrorCode.UNKNOWN_APP);
    // An app_id that is given but no application's is not "required": the reason says what it is.
    for (String[] bad :
        new String[][] {
          {"{\"id\":\"Fred\"}", "Unknown application: app_id is required"},
          {"{\"app_id\":null,\"id\":\"Fred\"}", "Unknown application: app_id is required"},
          {
            "{\"app_id\":0,\"id\":\"Fred\"}",
            "Unknown application: app_id must be a positive integer, not 0"
          },
          {
            "{\"app_id\":-7,\"id\":\"Fred\"}",
            "Unknown application: app_id must be a positive integer, not -7"
          }
        }) {
      HttpResponse<String> r =
          ApiClient.forEmail(node, "marge@example.com").post("/api/grants", bad[0]);
      assertError(r, ErrorCode.UNKNOWN_APP);
      assertThat(json(r).get("reason").asText()).as(bad[0]).isEqualTo(bad[1]);
    }
  }

  @Test
  void keys_regeneratedDeactivatedAndWrongKeysFail() {
    long id = register("BeerChat", site.domain(), "");
    String key = activate(id);
    assertThat(keyCheck(id, key)).isNull();
    assertThat(keyCheck(id, "")).isEqualTo(ErrorCode.INVALID_API_KEY);
    assertThat(keyCheck(id, null)).isEqualTo(ErrorCode.INVALID_API_KEY);
    long other = register("Other", site.domain(), "");
    String otherKey = activate(other);
    assertThat(keyCheck(id, otherKey)).as("another app's key").isEqualTo(ErrorCode.INVALID_API_KEY);
    String fresh = json(dev.post("/api/apps/" + id + "/key", null)).get("api_key").asText();
    assertThat(keyCheck(id, key)).isEqualTo(ErrorCode.INVALID_API_KEY);
    assertThat(keyCheck(id, fresh)).isNull();
    assertThat(dev.post("/api/apps/" + id + "/deactivate", null).statusCode()).isEqualTo(200);
    assertThat(keyCheck(id, fresh)).isEqualTo(ErrorCode.APP_NOT_ACTIVE);
    assertError(dev.post("/api/apps/" + id + "/key", null), ErrorCode.APP_NOT_ACTIVE);
    HttpResponse<String> again = dev.post("/api/apps/" + id + "/deactivate", null);
    assertError(again, ErrorCode.APP_NOT_ACTIVE);
    assertThat(json(again).get("reason").asText())
        .isEqualTo("Application not active: only an active application can be deactivated");
    assertError(dev.post("/api/apps/" + other + "/activate", null), ErrorCode.INVALID_APP_STATE);
  }

  // ---- grants for applications that are not active ----

  @Test
  void grants_forUnverifiedOrInactiveAppsAreRefused() {
    long registered = register("Unproven", site.domain(), "");
    long verified = register("Proven", site.domain(), "");
    site.serveKey(json(dev.get("/api/apps/" + verified)).get("verification_key").asText());
    assertThat(dev.post("/api/apps/" + verified + "/verify", null).statusCode()).isEqualTo(200);
    long deactivated = register("Retired", site.domain(), "");
    activate(deactivated);
    dev.post("/api/apps/" + deactivated + "/deactivate", null);
    String redirect = "http://" + site.domain() + "/cb";

    WebClient marge = new WebClient(node).signIn("marge@example.com");
    ApiClient api = ApiClient.forEmail(node, "marge@example.com");
    assertErrorPage(marge.get(grantPath(registered, redirect, "Fred")), ErrorCode.APP_NOT_VERIFIED);
    assertErrorPage(marge.get(grantPath(verified, redirect, "Fred")), ErrorCode.APP_NOT_ACTIVE);
    assertErrorPage(marge.get(grantPath(deactivated, redirect, "Fred")), ErrorCode.APP_NOT_ACTIVE);
    marge.get("/settings");
    assertErrorPage(
        marge.post(
            "/" + verified + "/grant",
            Map.of("redirect", redirect, "id", "Fred", "answer", "allow")),
        ErrorCode.APP_NOT_ACTIVE);
    assertError(
        api.post("/api/grants", "{\"app_id\":" + registered + ",\"id\":\"Fred\"}"),
        ErrorCode.APP_NOT_VERIFIED);
    assertError(
        api.post("/api/grants", "{\"app_id\":" + verified + ",\"id\":\"Fred\"}"),
        ErrorCode.APP_NOT_ACTIVE);
    assertError(
        api.post("/api/grants", "{\"app_id\":" + deactivated + ",\"id\":\"Fred\"}"),
        ErrorCode.APP_NOT_ACTIVE);
    assertThat(json(api.get("/api/grants")).get("grants")).isEmpty();
  }

  @Test
  void grant_withoutSignInGoesToSignInFirstAndAnswersNeedAnswer() {
    long id = register("BeerChat", site.domain(), "");
    activate(id);
    String redirect = "http://" + site.domain() + "/cb";
    HttpResponse<String> r = new WebClient(node).get(grantPath(id, redirect, "Fred"));
    assertThat(r.statusCode()).isEqualTo(303);
    assertThat(r.headers().firstValue("Location").orElseThrow())
        .startsWith("/signin?next=%2F" + id + "%2Fgrant%3F");
    WebClient marge = new WebClient(node).signIn("marge@example.com");
    marge.get("/settings");
    assertErrorPage(
        marge.post(
            "/" + id + "/grant", Map.of("redirect", redirect, "id", "Fred", "answer", "maybe")),
        ErrorCode.BAD_REQUEST);
    assertThat(json(ApiClient.forEmail(node, "marge@example.com").get("/api/grants")).get("grants"))
        .isEmpty();
  }

  @Test
  void verification_wrongKeyWrongTypeOrRedirectAwayFails() {
    long id = register("BeerChat", site.domain(), "");
    String proof = json(dev.get("/api/apps/" + id)).get("verification_key").asText();
    site.serve(
        "/__presence",
        new DomainStub.Answer(
            200,
            "text/plain",
            (proof.charAt(0) == 'x' ? "y" : "x") + proof.substring(1),
            Map.of()));
    assertError(
        dev.post("/api/apps/" + id + "/verify", null), ErrorCode.DOMAIN_VERIFICATION_FAILED);
    site.serve("/__presence", new DomainStub.Answer(200, "text/html", proof, Map.of()));
    assertError(
        dev.post("/api/apps/" + id + "/verify", null), ErrorCode.DOMAIN_VERIFICATION_FAILED);
    site.serve(
        "/__presence",
        new DomainStub.Answer(200, "text/plain", proof + "x".repeat(5000), Map.of()));
    assertError(
        dev.post("/api/apps/" + id + "/verify", null), ErrorCode.DOMAIN_VERIFICATION_FAILED);
    // A redirect to another host (localhost is another name than 127.0.0.1) is not followed.
    site.serve(
        "/__presence",
        new DomainStub.Answer(
            302, null, "", Map.of("Location", "http://localhost:" + site.port() + "/real")));
    site.serve("/real", new DomainStub.Answer(200, "text/plain", proof, Map.of()));
    HttpResponse<String> r = dev.post("/api/apps/" + id + "/verify", null);
    assertError(r, ErrorCode.DOMAIN_VERIFICATION_FAILED);
    // The developer is told where the key was looked for, never what the site did (that is logged).
    assertThat(json(r).get("reason").asText())
        .contains("the key was not found at https://" + site.domain() + "/__presence")
        .doesNotContain("redirect")
        .doesNotContain("localhost");
    assertThat(json(dev.get("/api/apps/" + id)).get("state").asText()).isEqualTo("registered");
    // The same host may redirect.
    site.serve("/__presence", new DomainStub.Answer(302, null, "", Map.of("Location", "/real")));
    assertThat(dev.post("/api/apps/" + id + "/verify", null).statusCode()).isEqualTo(200);
  }
}
