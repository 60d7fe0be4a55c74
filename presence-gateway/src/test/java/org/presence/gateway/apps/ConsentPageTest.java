package org.presence.gateway.apps;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.gateway.testing.NotifyFixture.json;

import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.RawHttp;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WebClient;
import org.presence.store.permission.PuidState;

/**
 * The consent page against what the user already shares with the application (docs/apps-api.md, The
 * grant flow): it says the truth about their grants under this and other user strings, each button
 * does what the page says, a paused grant is not routed around by a new user string, and the
 * consent request survives a sign-in whatever the redirect's documented length.
 */
class ConsentPageTest {
  private static final Pattern HIDDEN_REDIRECT =
      Pattern.compile("name=\"redirect\" value=\"([^\"]*)\"");

  @TempDir Path dataDir;
  TestNode node;
  DomainStub site;
  ApiClient dev;
  ApiClient margeApi;
  long appId;
  String redirect;

  @BeforeEach
  void start() throws Exception {
    node = TestNode.embedded(dataDir);
    site = DomainStub.start();
    dev = ApiClient.forEmail(node, "dev@example.com");
    margeApi = ApiClient.forEmail(node, "marge@example.com");
    HttpResponse<String> r =
        dev.post(
            "/api/apps",
            "{\"name\":\"BeerChat\",\"domain\":\"" + site.domain() + "\",\"description\":\"\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    appId = json(r).get("id").asLong();
    String proof = json(dev.get("/api/apps/" + appId)).get("verification_key").asText();
    site.serveKey(proof);
    assertThat(dev.post("/api/apps/" + appId + "/verify", null).statusCode()).isEqualTo(200);
    assertThat(dev.post("/api/apps/" + appId + "/activate", null).statusCode()).isEqualTo(200);
    redirect = "http://" + site.domain() + "/cb";
  }

  @AfterEach
  void stop() {
    site.close();
    node.close();
  }

  private String grantPath(String redirectUrl, String user) {
    return "/"
        + appId
        + "/grant?redirect="
        + URLEncoder.encode(redirectUrl, StandardCharsets.UTF_8)
        + "&id="
        + URLEncoder.encode(user, StandardCharsets.UTF_8);
  }

  private String apiGrant(String user) {
    HttpResponse<String> r =
        margeApi.post("/api/grants", "{\"app_id\":" + appId + ",\"id\":\"" + user + "\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return json(r).get("puid").asText();
  }

  private void pause(String puid) {
    assertThat(margeApi.put("/api/grants/" + puid, "{\"enabled\":false}").statusCode())
        .isEqualTo(200);
  }

  private PuidState state(String puid) {
    try {
      return node.server()
          .appFeatures()
          .grants()
          .puidState(appId, puid)
          .toCompletableFuture()
          .get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private int grantCount() {
    return json(margeApi.get("/api/grants")).get("grants").size();
  }

  private static String consent(HttpResponse<String> page) {
    String body = page.body();
    int from = body.indexOf("<section class=\"consent\"");
    assertThat(from).as(body).isNotNegative();
    return body.substring(from, body.indexOf("</section>", from));
  }

  private HttpResponse<String> answer(WebClient web, String user, String answer) {
    return web.post(
        "/" + appId + "/grant", Map.of("redirect", redirect, "id", user, "answer", answer));
  }

  /** M2: another user string while "first" is paused: the page says so, Allow needs a choice. */
  @Test
  void newUserString_whileAnotherIsPaused_isListedAndNeedsTheExplicitChoice() {
    String first = apiGrant("first");
    apiGrant("third");
    pause(first);
    WebClient marge = new WebClient(node).signIn("marge@example.com");

    HttpResponse<String> page = marge.get(grantPath(redirect, "second"));
    assertThat(page.statusCode()).isEqualTo(200);
    String section = consent(page);
    assertThat(section)
        .doesNotContain("id=\"consent-existing\"")
        .doesNotContain("same id")
        .contains("<bdi><strong>first</strong></bdi>: paused")
        .contains("<bdi><strong>third</strong></bdi>: sharing")
        .contains("Allowing makes another id for you")
        .contains("id=\"consent-paused-warning\"")
        .contains("value=\"allow-another\"")
        .doesNotContain("value=\"allow\"");

    // A plain Allow (a stale page, a forged choice) is not taken: the page again, 409, no grant.
    HttpResponse<String> plain = answer(marge, "second", "allow");
    assertThat(plain.statusCode()).isEqualTo(409);
    assertThat(plain.headers().firstValue("Presence-UID")).isEmpty();
    assertThat(consent(plain)).contains("id=\"consent-changed\"");
    assertThat(grantCount()).isEqualTo(2);

    HttpResponse<String> chosen = answer(marge, "second", "allow-another");
    assertThat(chosen.statusCode()).isEqualTo(303);
    String second = chosen.headers().firstValue("Presence-UID").orElseThrow();
    assertThat(second).isNotEqualTo(first);
    assertThat(state(first)).isEqualTo(PuidState.PAUSED);
    assertThat(state(second)).isEqualTo(PuidState.ACTIVE);
  }

  /** M2: other user strings, none paused: listed, and Allow says it makes another id. */
  @Test
  void newUserString_besideActiveOnes_listsThemAndAllows() {
    apiGrant("first");
    WebClient marge = new WebClient(node).signIn("marge@example.com");
    String section = consent(marge.get(grantPath(redirect, "second")));
    assertThat(section)
        .contains("<bdi><strong>first</strong></bdi>: sharing")
        .contains("Allowing makes another id for you")
        .doesNotContain("id=\"consent-paused-warning\"")
        .contains("value=\"allow\" id=\"allow\" class=\"primary\">Allow</button>");
    assertThat(answer(marge, "second", "allow").statusCode()).isEqualTo(303);
    assertThat(grantCount()).isEqualTo(2);
  }

  /** M3: the same user string, paused: the page offers to resume, and Allow does resume it. */
  @Test
  void sameUserString_paused_allowResumesIt() {
    String puid = apiGrant("Fred");
    pause(puid);
    WebClient marge = new WebClient(node).signIn("marge@example.com");
    String section = consent(marge.get(grantPath(redirect, "Fred")));
    assertThat(section)
        .contains("You paused sharing your presence with <bdi>BeerChat</bdi>")
        .contains(">Resume sharing</button>")
        .contains(">Not now</button>")
        .doesNotContain("id=\"consent-others\"");

    HttpResponse<String> notNow = answer(marge, "Fred", "deny");
    assertThat(notNow.headers().firstValue("Location")).hasValue(redirect + "?error=access_denied");
    assertThat(state(puid)).isEqualTo(PuidState.PAUSED);

    HttpResponse<String> resumed = answer(marge, "Fred", "allow");
    assertThat(resumed.statusCode()).isEqualTo(303);
    assertThat(resumed.headers().firstValue("Presence-UID")).hasValue(puid);
    assertThat(resumed.headers().firstValue("Location")).hasValue(redirect + "?puid=" + puid);
    assertThat(state(puid)).isEqualTo(PuidState.ACTIVE);
  }

  /** M3: the same user string, active: Not now changes nothing, Pause sharing pauses it. */
  @Test
  void sameUserString_active_notNowKeepsIt_andPauseStopsIt() {
    String puid = apiGrant("Fred");
    WebClient marge = new WebClient(node).signIn("marge@example.com");
    String section = consent(marge.get(grantPath(redirect, "Fred")));
    assertThat(section)
        .contains("You already share your presence with <bdi>BeerChat</bdi>")
        .contains(">Keep sharing</button>")
        .contains("value=\"pause\" id=\"pause\">Pause sharing</button>")
        .contains("nothing changes, and it still sees your presence")
        .doesNotContain(">Deny</button>");

    HttpResponse<String> notNow = answer(marge, "Fred", "deny");
    assertThat(notNow.headers().firstValue("Location")).hasValue(redirect + "?error=access_denied");
    assertThat(state(puid)).isEqualTo(PuidState.ACTIVE);

    HttpResponse<String> kept = answer(marge, "Fred", "allow");
    assertThat(kept.headers().firstValue("Presence-UID")).hasValue(puid);
    assertThat(state(puid)).isEqualTo(PuidState.ACTIVE);

    HttpResponse<String> paused = answer(marge, "Fred", "pause");
    assertThat(paused.statusCode()).isEqualTo(303);
    assertThat(paused.headers().firstValue("Location")).hasValue(redirect + "?error=access_denied");
    assertThat(paused.headers().firstValue("Presence-UID")).isEmpty();
    assertThat(state(puid)).isEqualTo(PuidState.PAUSED);
    assertThat(grantCount()).isEqualTo(1);
  }

  /**
   * M5: the longest redirect the docs allow (2,048 characters, a third of them percent-escapes, as
   * an application's encoded state) with a 100-character user string survives a sign-in: the
   * sign-in address stays short, and the consent page after it shows the same request.
   */
  @Test
  void longestRedirect_survivesTheSignIn() {
    String base = redirect + "?state=";
    StringBuilder b = new StringBuilder(base);
    while (b.length() + 3 <= 2048) {
      b.append("%7B");
    }
    while (b.length() < 2048) {
      b.append('x');
    }
    String longRedirect = b.toString();
    assertThat(longRedirect).hasSize(2048);
    String user = "U".repeat(100);
    String grantPath = grantPath(longRedirect, user);

    WebClient marge = new WebClient(node);
    HttpResponse<String> toSignIn = marge.get(grantPath);
    assertThat(toSignIn.statusCode()).isEqualTo(303);
    String signInAt = toSignIn.headers().firstValue("Location").orElseThrow();
    assertThat(signInAt).startsWith("/signin?next=").hasSizeLessThan(200);
    HttpResponse<String> signInPage = marge.get(signInAt);
    assertThat(signInPage.statusCode()).isEqualTo(200);
    String next = URI.create("http://x" + signInAt).getQuery().substring("next=".length());
    HttpResponse<String> signedIn =
        marge.post("/signin", Map.of("email", "marge@example.com", "next", next));
    assertThat(signedIn.statusCode()).isEqualTo(303);
    String back = signedIn.headers().firstValue("Location").orElseThrow();
    assertThat(back).startsWith("/" + appId + "/grant?pending=");

    HttpResponse<String> page = marge.get(back);
    assertThat(page.statusCode()).as(page.body()).isEqualTo(200);
    assertThat(consent(page)).contains("<strong id=\"consent-user\">" + user + "</strong>");
    Matcher m = HIDDEN_REDIRECT.matcher(page.body());
    assertThat(m.find()).isTrue();
    assertThat(unescape(m.group(1))).isEqualTo(longRedirect);

    HttpResponse<String> allowed =
        marge.post(
            "/" + appId + "/grant",
            Map.of("redirect", longRedirect, "id", user, "answer", "allow"));
    assertThat(allowed.statusCode()).isEqualTo(303);
    String puid = allowed.headers().firstValue("Presence-UID").orElseThrow();
    assertThat(allowed.headers().firstValue("Location")).hasValue(longRedirect + "&puid=" + puid);
    // Answered: the waiting request is cleared.
    assertThat(allowed.headers().allValues("Set-Cookie"))
        .anyMatch(c -> c.startsWith("presence_consent=;") && c.contains("Max-Age=0"));
  }

  /** M5: a pending address whose request is gone says so, and starts nothing. */
  @Test
  void pendingRequest_goneOrReplaced_isAnErrorPage() {
    WebClient marge = new WebClient(node).signIn("marge@example.com");
    HttpResponse<String> r = marge.get("/" + appId + "/grant?pending=nothing");
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(r.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/html");
    assertThat(r.body()).contains("this consent request is no longer here");
  }

  /**
   * M5: a request line over {@code limits.max-initial-line-bytes} is refused before its headers are
   * read; a GET of a page's address (here the consent page) still gets the HTML error page, while
   * an API address keeps its JSON body.
   */
  @Test
  void requestLineTooLong_ofAPage_getsTheErrorPage_andOfTheApiJson() throws Exception {
    String tooLong = "a".repeat(5000);
    String page =
        RawHttp.exchange(
            node.port(),
            "GET /"
                + appId
                + "/grant?redirect="
                + tooLong
                + " HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n\r\n");
    assertThat(page)
        .startsWith("HTTP/1.1 400")
        .containsIgnoringCase("content-type: text/html")
        .contains("id=\"error-headline\"")
        .contains("request line too long")
        .doesNotContain("errno");
    String api =
        RawHttp.exchange(
            node.port(),
            "GET /api/grants?x=" + tooLong + " HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n\r\n");
    assertThat(api).startsWith("HTTP/1.1 400").contains("\"errno\":100");
  }

  /** L1: the session ended while the page was open: the 401 page's Sign in comes back to it. */
  @Test
  void sessionEndedMidConsent_signInComesBackToTheConsent() {
    WebClient marge = new WebClient(node).signIn("marge@example.com");
    assertThat(marge.get(grantPath(redirect, "Fred")).statusCode()).isEqualTo(200);
    String consentToken = marge.csrf();
    marge.get("/settings");
    assertThat(marge.post("/signout", Map.of()).statusCode()).isEqualTo(303);

    HttpResponse<String> late =
        marge.post(
            "/" + appId + "/grant",
            Map.of("csrf", consentToken, "redirect", redirect, "id", "Fred", "answer", "allow"));
    assertThat(late.statusCode()).isEqualTo(401);
    assertThat(late.headers().firstValue("Presence-UID")).isEmpty();
    Matcher link = Pattern.compile("href=\"([^\"]+)\" id=\"error-sign-in\"").matcher(late.body());
    assertThat(link.find()).as(late.body()).isTrue();
    String signInAt = unescape(link.group(1));
    assertThat(signInAt).startsWith("/signin?next=");
    String next =
        URLDecoder.decode(signInAt.substring("/signin?next=".length()), StandardCharsets.UTF_8);
    assertThat(next).startsWith("/" + appId + "/grant?pending=");

    marge.get(signInAt);
    HttpResponse<String> signedIn =
        marge.post("/signin", Map.of("email", "marge@example.com", "next", next));
    assertThat(signedIn.headers().firstValue("Location")).hasValue(next);
    HttpResponse<String> page = marge.get(next);
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(consent(page)).contains("<strong id=\"consent-user\">Fred</strong>");
    assertThat(grantCount()).isZero();
  }

  /**
   * A consent answer posted from another site (no cookies at all, as SameSite=Lax sends none) is
   * refused without setting a pending consent, which would replace the visitor's own.
   */
  @Test
  void crossSiteAnswer_isRefused_withoutAPendingConsent() {
    HttpResponse<String> forged =
        new WebClient(node)
            .post(
                "/" + appId + "/grant",
                Map.of("csrf", "x", "redirect", redirect, "id", "Fred", "answer", "allow"));
    assertThat(forged.statusCode()).isEqualTo(401);
    assertThat(forged.headers().allValues("Set-Cookie"))
        .noneMatch(c -> c.startsWith("presence_consent="));
    assertThat(grantCount()).isZero();
  }

  /** A consent form without an answer (or an unknown one) gets the 400 page, not a 500. */
  @Test
  void answerMissingOrUnknown_isA400Page() {
    WebClient marge = new WebClient(node).signIn("marge@example.com");
    HttpResponse<String> missing =
        marge.post("/" + appId + "/grant", Map.of("redirect", redirect, "id", "Fred"));
    assertThat(missing.statusCode()).as(missing.body()).isEqualTo(400);
    assertThat(missing.body()).contains("answer must be allow");
    assertThat(answer(marge, "Fred", "maybe").statusCode()).isEqualTo(400);
    assertThat(grantCount()).isZero();
  }

  /** L3: what the application and the user supply is bidi-isolated on the consent page. */
  @Test
  void namesAndDomain_areBidiIsolated() {
    WebClient marge = new WebClient(node).signIn("marge@example.com");
    String section = consent(marge.get(grantPath(redirect, "Fred")));
    assertThat(section)
        .contains("<h1>Share your presence with <bdi>BeerChat</bdi>?</h1>")
        .contains("<bdi><strong id=\"consent-app\">BeerChat</strong></bdi>")
        .contains("(<bdi id=\"consent-domain\">" + site.domain() + "</bdi>)")
        .contains("<bdi><strong id=\"consent-user\">Fred</strong></bdi>");
  }

  private static String unescape(String html) {
    return html.replace("&amp;", "&").replace("&#x3D;", "=").replace("&#61;", "=");
  }
}
