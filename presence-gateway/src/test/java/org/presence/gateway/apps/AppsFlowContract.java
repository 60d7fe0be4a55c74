package org.presence.gateway.apps;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
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
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WebClient;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.permission.PuidState;

/**
 * The whole applications-and-permissions flow, through the JSON API and through the pages: a
 * developer takes an application from registration to an active API key (domain proof against a
 * stub site on loopback), and a user grants, pauses, resumes and revokes. Runs on the embedded
 * default ({@code EmbeddedAppsFlowTest}) and on PostgreSQL with Redis ({@code PostgresAppsFlowIT}).
 */
public abstract class AppsFlowContract {
  protected static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern KEY =
      Pattern.compile(
          "<textarea id=\"api-key\" rows=\"6\" readonly>([A-Za-z0-9]{1024})</textarea>");

  @TempDir protected Path dataDir;
  protected TestNode node;
  protected DomainStub site;

  /** Settings of the node under test (paths below {@code presence}). */
  protected abstract Map<String, String> settings(Path dataDir);

  @BeforeEach
  void start() {
    node = TestNode.start(settings(dataDir), r -> {});
    site = DomainStub.start();
  }

  @AfterEach
  void stop() {
    if (site != null) {
      site.close();
    }
    if (node != null) {
      node.close();
    }
  }

  /** Users differ per test, since the cluster tests share one database. */
  private final String run = java.util.UUID.randomUUID().toString().substring(0, 8);

  /** The email of user {@code who} in this test. */
  protected String mail(String who) {
    return who + "-" + run + "@example.com";
  }

  protected static JsonNode json(HttpResponse<String> r) {
    try {
      return JSON.readTree(r.body());
    } catch (Exception e) {
      throw new AssertionError("not JSON: " + r.body(), e);
    }
  }

  protected static <T> T done(java.util.concurrent.CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** Whether {@code key} authenticates application {@code id} (the check later channels make). */
  protected boolean keyWorks(TestNode n, long id, String key) {
    try {
      n.server()
          .appFeatures()
          .apiKeys()
          .authenticate(id, key)
          .toCompletableFuture()
          .get(20, TimeUnit.SECONDS);
      return true;
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof ProtocolException pe) {
        assertThat(pe.code()).isIn(ErrorCode.INVALID_API_KEY, ErrorCode.APP_NOT_ACTIVE);
        return false;
      }
      throw new AssertionError(e);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** The consent section of a consent page (the header names the signed-in user). */
  protected static String consentSection(String page) {
    int from = page.indexOf("<section class=\"consent\"");
    int to = page.indexOf("</section>", from);
    assertThat(from).as(page).isNotNegative();
    assertThat(to).as(page).isPositive();
    return page.substring(from, to);
  }

  @Test
  void aRegistrationSentAgainWithItsIdempotencyKey_makesOneApplication_onEveryStore() {
    ApiClient dev = ApiClient.forEmail(node, mail("idem"));
    String body = "{\"name\":\"Retry\",\"domain\":\"retry.example.com\"}";
    String key = java.util.UUID.randomUUID().toString();
    HttpResponse<String> first = dev.post("/api/apps", body, Map.of("Idempotency-Key", key));
    assertThat(first.statusCode()).as(first.body()).isEqualTo(201);
    long id = json(first).get("id").asLong();
    // The retry (a timeout, another node): the same application; the draft's quoted form too.
    for (String sent : List.of(key, "\"" + key + "\"")) {
      HttpResponse<String> again = dev.post("/api/apps", body, Map.of("Idempotency-Key", sent));
      assertThat(again.statusCode()).as(again.body()).isEqualTo(201);
      assertThat(json(again).get("id").asLong()).isEqualTo(id);
    }
    // The key with another body is refused, and makes nothing.
    HttpResponse<String> other =
        dev.post(
            "/api/apps",
            "{\"name\":\"Other\",\"domain\":\"retry.example.com\"}",
            Map.of("Idempotency-Key", key));
    assertThat(other.statusCode()).as(other.body()).isEqualTo(422);
    assertThat(json(other).get("errno").asInt())
        .isEqualTo(ErrorCode.IDEMPOTENCY_KEY_REUSED.errno());
    // A key that is not one is refused before anything is made.
    for (String bad : List.of("x".repeat(61), "two words", "\"\"")) {
      HttpResponse<String> refused = dev.post("/api/apps", body, Map.of("Idempotency-Key", bad));
      assertThat(refused.statusCode()).as(bad + ": " + refused.body()).isEqualTo(400);
      assertThat(json(refused).get("errno").asInt()).isEqualTo(ErrorCode.BAD_REQUEST.errno());
    }
    assertThat(json(dev.get("/api/apps")).get("apps").size()).isEqualTo(1);
    // Another developer's key is theirs; without a key each call makes an application.
    ApiClient someoneElse = ApiClient.forEmail(node, mail("idem-other"));
    HttpResponse<String> theirs =
        someoneElse.post("/api/apps", body, Map.of("Idempotency-Key", key));
    assertThat(theirs.statusCode()).as(theirs.body()).isEqualTo(201);
    assertThat(json(theirs).get("id").asLong()).isNotEqualTo(id);
    assertThat(dev.post("/api/apps", body).statusCode()).isEqualTo(201);
    assertThat(json(dev.get("/api/apps")).get("apps").size()).isEqualTo(2);
  }

  /** Registers, verifies and activates an application through the API; returns id and key. */
  protected long[] activeApp(ApiClient dev, String name, String[] keyOut) {
    HttpResponse<String> created =
        dev.post(
            "/api/apps",
            "{\"name\":\""
                + name
                + "\",\"domain\":\""
                + site.domain()
                + "\",\"description\":\"chat\"}");
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    long id = json(created).get("id").asLong();
    site.serveKey(json(created).get("verification_key").asText());
    assertThat(dev.post("/api/apps/" + id + "/verify", null).statusCode()).isEqualTo(200);
    HttpResponse<String> activated = dev.post("/api/apps/" + id + "/activate", null);
    assertThat(activated.statusCode()).as(activated.body()).isEqualTo(200);
    keyOut[0] = json(activated).get("api_key").asText();
    return new long[] {id};
  }

  @Test
  void api_developerTakesAnAppFromRegistrationToAnActiveKey() {
    ApiClient dev = ApiClient.forEmail(node, mail("dev"));

    HttpResponse<String> created =
        dev.post(
            "/api/apps",
            "{\"name\":\"BeerChat\",\"domain\":\""
                + site.domain()
                + "\",\"description\":\"Chat about beer\"}");
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    JsonNode app = json(created);
    long id = app.get("id").asLong();
    assertThat(id).isPositive();
    assertThat(app.get("state").asText()).isEqualTo("registered");
    assertThat(app.get("owner_email").asText()).isEqualTo(mail("dev"));
    String proof = app.get("verification_key").asText();
    assertThat(proof).hasSize(1024).matches("[A-Za-z0-9]+");
    assertThat(app.get("verification_url").asText())
        .isEqualTo("https://" + site.domain() + "/__presence");
    // An IPv4 domain has no TXT proof.
    assertThat(app.get("verification_txt").isNull()).isTrue();
    assertThat(app.get("endpoints").get("grant").asText())
        .isEqualTo(node.server().baseUrl() + "/" + id + "/grant?redirect=<url>&id=<userstring>");

    // Activation before the domain proof is refused.
    HttpResponse<String> early = dev.post("/api/apps/" + id + "/activate", null);
    assertThat(early.statusCode()).isEqualTo(409);
    assertThat(json(early).get("errno").asInt()).isEqualTo(ErrorCode.APP_NOT_VERIFIED.errno());

    // The site does not serve the key yet: the proof fails and nothing changes.
    HttpResponse<String> failed = dev.post("/api/apps/" + id + "/verify", null);
    assertThat(failed.statusCode()).isEqualTo(422);
    assertThat(json(failed).get("errno").asInt())
        .isEqualTo(ErrorCode.DOMAIN_VERIFICATION_FAILED.errno());
    assertThat(json(dev.get("/api/apps/" + id)).get("state").asText()).isEqualTo("registered");

    site.serveKey(proof);
    HttpResponse<String> verified = dev.post("/api/apps/" + id + "/verify", null);
    assertThat(verified.statusCode()).as(verified.body()).isEqualTo(200);
    assertThat(json(verified).get("state").asText()).isEqualTo("verified");
    assertThat(site.requests())
        .anyMatch(r -> r.startsWith("GET /__presence Host=" + site.domain()));

    HttpResponse<String> activated = dev.post("/api/apps/" + id + "/activate", null);
    assertThat(activated.statusCode()).as(activated.body()).isEqualTo(200);
    String key = json(activated).get("api_key").asText();
    assertThat(key).hasSize(1024).matches("[A-Za-z0-9]+");
    assertThat(json(activated).get("state").asText()).isEqualTo("active");
    // Shown once: the application's JSON never carries the key.
    assertThat(dev.get("/api/apps/" + id).body()).doesNotContain(key).doesNotContain("api_key");
    assertThat(keyWorks(node, id, key)).isTrue();
    assertThat(keyWorks(node, id, key.substring(1) + "A")).isFalse();

    HttpResponse<String> regenerated = dev.post("/api/apps/" + id + "/key", null);
    assertThat(regenerated.statusCode()).isEqualTo(200);
    String key2 = json(regenerated).get("api_key").asText();
    assertThat(key2).isNotEqualTo(key);
    assertThat(keyWorks(node, id, key)).as("old key after regeneration").isFalse();
    assertThat(keyWorks(node, id, key2)).isTrue();

    HttpResponse<String> hook =
        dev.put(
            "/api/apps/" + id + "/webhook",
            "{\"url\":\"http://" + site.domain() + "/presence-hook\"}");
    assertThat(hook.statusCode()).as(hook.body()).isEqualTo(200);
    assertThat(json(hook).get("webhook_url").asText())
        .isEqualTo("http://" + site.domain() + "/presence-hook");
    assertThat(json(hook).get("webhook_secret").asText()).hasSize(64);

    HttpResponse<String> list = dev.get("/api/apps");
    assertThat(json(list).get("apps")).hasSize(1);
    assertThat(json(ApiClient.forEmail(node, mail("other")).get("/api/apps")).get("apps"))
        .isEmpty();

    HttpResponse<String> off = dev.post("/api/apps/" + id + "/deactivate", null);
    assertThat(off.statusCode()).isEqualTo(200);
    assertThat(json(off).get("state").asText()).isEqualTo("verified");
    assertThat(keyWorks(node, id, key2)).as("key after deactivation").isFalse();
  }

  @Test
  void api_userGrantsPausesResumesAndRevokes() {
    String[] key = new String[1];
    long id = activeApp(ApiClient.forEmail(node, mail("dev")), "BeerChat", key)[0];
    ApiClient marge = ApiClient.forEmail(node, mail("marge"));
    String redirect = "http://" + site.domain() + "/presence/callback?state=1";

    HttpResponse<String> granted =
        marge.post(
            "/api/grants",
            "{\"app_id\":" + id + ",\"id\":\"Fred\",\"redirect\":\"" + redirect + "\"}");
    assertThat(granted.statusCode()).as(granted.body()).isEqualTo(200);
    String puid = json(granted).get("puid").asText();
    assertThat(puid).matches("[A-Za-z0-9_-]{43}");
    assertThat(json(granted).get("redirect").asText()).isEqualTo(redirect + "&puid=" + puid);
    assertThat(done(node.server().appFeatures().grants().puidState(id, puid)))
        .isEqualTo(PuidState.ACTIVE);

    // The same user, app and user string get the same PUID; another user string another one.
    assertThat(
            json(marge.post("/api/grants", "{\"app_id\":" + id + ",\"id\":\"Fred\"}"))
                .get("puid")
                .asText())
        .isEqualTo(puid);
    String other =
        json(marge.post("/api/grants", "{\"app_id\":" + id + ",\"id\":\"Freddy\"}"))
            .get("puid")
            .asText();
    assertThat(other).isNotEqualTo(puid);
    String homerPuid =
        json(ApiClient.forEmail(node, mail("homer"))
                .post("/api/grants", "{\"app_id\":" + id + ",\"id\":\"Fred\"}"))
            .get("puid")
            .asText();
    assertThat(homerPuid).isNotIn(puid, other);

    JsonNode list = json(marge.get("/api/grants"));
    assertThat(list.get("grants")).hasSize(2);
    assertThat(list.get("grants").get(0).get("app_name").asText()).isEqualTo("BeerChat");
    assertThat(done(node.server().appFeatures().grants().enabledGrants("dev:" + mail("marge"))))
        .hasSize(2);

    HttpResponse<String> paused = marge.put("/api/grants/" + puid, "{\"enabled\":false}");
    assertThat(paused.statusCode()).isEqualTo(200);
    assertThat(json(paused).get("enabled").asBoolean()).isFalse();
    assertThat(done(node.server().appFeatures().grants().puidState(id, puid)))
        .isEqualTo(PuidState.PAUSED);
    assertThat(done(node.server().appFeatures().grants().enabledGrants("dev:" + mail("marge"))))
        .extracting(g -> g.puid())
        .containsExactly(other);

    // Someone else cannot touch Marge's grant.
    HttpResponse<String> foreign =
        ApiClient.forEmail(node, mail("homer")).put("/api/grants/" + puid, "{\"enabled\":true}");
    assertThat(foreign.statusCode()).isEqualTo(404);
    assertThat(json(foreign).get("errno").asInt()).isEqualTo(ErrorCode.UNKNOWN_PUID.errno());

    assertThat(
            json(marge.put("/api/grants/" + puid, "{\"enabled\":true}")).get("enabled").asBoolean())
        .isTrue();
    assertThat(done(node.server().appFeatures().grants().puidState(id, puid)))
        .isEqualTo(PuidState.ACTIVE);

    HttpResponse<String> revoked = marge.delete("/api/grants/" + puid);
    assertThat(revoked.statusCode()).isEqualTo(200);
    assertThat(done(node.server().appFeatures().grants().puidState(id, puid)))
        .isEqualTo(PuidState.REVOKED);
    assertThat(marge.delete("/api/grants/" + puid).statusCode()).isEqualTo(404);
    String again =
        json(marge.post("/api/grants", "{\"app_id\":" + id + ",\"id\":\"Fred\"}"))
            .get("puid")
            .asText();
    assertThat(again).as("a grant after revoking makes a new PUID").isNotEqualTo(puid);
  }

  @Test
  void api_settingsRoundTripForTheDeviceDaemon() {
    ApiClient marge = ApiClient.forEmail(node, mail("marge"));
    JsonNode defaults = json(marge.get("/api/settings"));
    assertThat(defaults.get("online_within_minutes").asInt()).isEqualTo(5);
    assertThat(defaults.get("offline_after_minutes").asInt()).isEqualTo(25);

    HttpResponse<String> put =
        marge.put(
            "/api/settings",
            "{\"online_within_minutes\":15,\"away_after_minutes\":20,\"offline_after_minutes\":35,"
                + "\"custom_status\":\"Brewing\",\"away_message\":\"Back soon\"}");
    assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
    JsonNode s = json(marge.get("/api/settings"));
    assertThat(s.get("online_within_minutes").asInt()).isEqualTo(15);
    assertThat(s.get("away_after_minutes").asInt()).isEqualTo(20);
    assertThat(s.get("offline_after_minutes").asInt()).isEqualTo(35);
    assertThat(s.get("custom_status").asText()).isEqualTo("Brewing");
    assertThat(s.get("away_message").asText()).isEqualTo("Back soon");

    // A partial change keeps the rest.
    marge.put("/api/settings", "{\"custom_status\":\"Tasting\"}");
    assertThat(json(marge.get("/api/settings")).get("offline_after_minutes").asInt()).isEqualTo(35);
    assertThat(json(marge.get("/api/settings")).get("custom_status").asText()).isEqualTo("Tasting");
  }

  @Test
  void pages_developerAndUserFlow() {
    WebClient devWeb = new WebClient(node).signIn(mail("dev"));
    HttpResponse<String> portal = devWeb.get("/myapps");
    assertThat(portal.statusCode()).isEqualTo(200);
    assertThat(portal.body()).contains("Register an application");

    HttpResponse<String> created =
        devWeb.post(
            "/myapps",
            Map.of("name", "BeerChat", "domain", site.domain(), "description", "Chat about beer"));
    assertThat(created.statusCode()).as(created.body()).isEqualTo(303);
    String appPath = created.headers().firstValue("Location").orElseThrow().replaceAll("\\?.*", "");
    long id = Long.parseLong(appPath.substring("/myapps/".length()));
    HttpResponse<String> appPage = devWeb.get(appPath);
    Matcher proof =
        Pattern.compile(
                "<textarea id=\"verification-key\" rows=\"6\" readonly>([A-Za-z0-9]{1024})</textarea>")
            .matcher(appPage.body());
    assertThat(proof.find()).as(appPage.body()).isTrue();
    assertThat(appPage.body()).contains("https://" + site.domain() + "/__presence");
    site.serveKey(proof.group(1));

    HttpResponse<String> verified = devWeb.post(appPath + "/verify", Map.of());
    assertThat(verified.statusCode()).as(verified.body()).isEqualTo(303);
    assertThat(devWeb.follow(verified).body()).contains("Domain verified");

    // Activate redirects (POST-redirect-GET) to the page, which shows the key once with a notice;
    // a refresh of that page shows it without the key and without "already active".
    HttpResponse<String> activated = devWeb.post(appPath + "/activate", Map.of());
    assertThat(activated.statusCode()).isEqualTo(303);
    assertThat(activated.headers().firstValue("Location")).hasValue(appPath + "?done=activated");
    HttpResponse<String> activatedPage = devWeb.follow(activated);
    assertThat(activatedPage.body()).contains("Activated.");
    Matcher k = KEY.matcher(activatedPage.body());
    assertThat(k.find()).as(activatedPage.body()).isTrue();
    String key = k.group(1);
    assertThat(keyWorks(node, id, key)).isTrue();
    HttpResponse<String> refreshed = devWeb.follow(activated);
    assertThat(refreshed.statusCode()).isEqualTo(200);
    assertThat(refreshed.body())
        .as("the key is shown once")
        .doesNotContain(key)
        .contains("Activated.")
        .doesNotContainIgnoringCase("already");
    assertThat(devWeb.get(appPath).body()).as("the key is shown once").doesNotContain(key);
    // The update stream is NDJSON (application/x-ndjson), not server-sent events.
    assertThat(devWeb.get(appPath).body())
        .contains("<dt>Update stream (NDJSON over HTTP)</dt>")
        .doesNotContain("server-sent");

    HttpResponse<String> regenerated =
        devWeb.follow(devWeb.post(appPath + "/regenerate", Map.of()));
    Matcher k2 = KEY.matcher(regenerated.body());
    assertThat(k2.find()).isTrue();
    assertThat(keyWorks(node, id, key)).isFalse();
    assertThat(keyWorks(node, id, k2.group(1))).isTrue();

    HttpResponse<String> hook =
        devWeb.post(appPath + "/webhook", Map.of("url", "http://" + site.domain() + "/hook"));
    assertThat(hook.statusCode()).isEqualTo(303);
    assertThat(devWeb.follow(hook).body()).contains("id=\"webhook-secret\"");

    // The user: consent page, Allow, redirect back with the PUID.
    WebClient marge = new WebClient(node);
    String redirect = "http://" + site.domain() + "/presence/callback";
    String grantPath =
        "/"
            + id
            + "/grant?redirect="
            + URLEncoder.encode(redirect, StandardCharsets.UTF_8)
            + "&id=Fred";
    HttpResponse<String> toSignIn = marge.get(grantPath);
    assertThat(toSignIn.statusCode()).isEqualTo(303);
    String signInAt = toSignIn.headers().firstValue("Location").orElseThrow();
    assertThat(signInAt).startsWith("/signin?next=");
    marge.get(signInAt);
    String next = URI.create("http://x" + signInAt).getQuery().substring("next=".length());
    HttpResponse<String> signedIn =
        marge.post("/signin", Map.of("email", mail("marge"), "next", next));
    assertThat(signedIn.statusCode()).isEqualTo(303);
    // The consent request waited in a cookie: sign-in comes back to a short address for it.
    String back = signedIn.headers().firstValue("Location").orElseThrow();
    assertThat(back).startsWith("/" + id + "/grant?pending=");
    assertThat(marge.get(back).body()).contains("<strong id=\"consent-user\">Fred</strong>");

    HttpResponse<String> consent = marge.get(grantPath);
    assertThat(consent.statusCode()).isEqualTo(200);
    assertThat(consent.body())
        .contains("<strong id=\"consent-app\">BeerChat</strong>")
        .contains(site.domain())
        .contains("<strong id=\"consent-user\">Fred</strong>");
    // The user sees the name the application passed, and that the application never learns who
    // they are (issue 12 item 12): nothing of the consent itself names their email.
    String consentText = consentSection(consent.body());
    assertThat(consentText)
        .contains(
            "You appear as <bdi><strong id=\"consent-user\">Fred</strong></bdi> to"
                + " <bdi>BeerChat</bdi>")
        .contains("<bdi>BeerChat</bdi> never learns your email address")
        .doesNotContain(mail("marge"))
        .doesNotContain("will appear as");
    assertThat(consent.headers().firstValue("Content-Security-Policy").orElseThrow())
        .contains("frame-ancestors 'none'")
        .contains("form-action 'self' http://127.0.0.1:" + site.port());

    HttpResponse<String> allowed =
        marge.post(
            "/" + id + "/grant", Map.of("redirect", redirect, "id", "Fred", "answer", "allow"));
    assertThat(allowed.statusCode()).isEqualTo(303);
    String puid = allowed.headers().firstValue("Presence-UID").orElseThrow();
    assertThat(allowed.headers().firstValue("Location").orElseThrow())
        .isEqualTo(redirect + "?puid=" + puid);

    HttpResponse<String> denied =
        marge.post("/" + id, Map.of("redirect", redirect, "id", "Fred", "answer", "deny"));
    assertThat(denied.statusCode()).isEqualTo(303);
    assertThat(denied.headers().firstValue("Location").orElseThrow())
        .isEqualTo(redirect + "?error=access_denied");
    assertThat(denied.headers().firstValue("Presence-UID")).isEmpty();

    HttpResponse<String> settings = marge.get("/settings");
    assertThat(settings.body())
        .contains("BeerChat")
        .contains("Fred")
        .contains("/settings/grants/" + puid + "/pause");

    assertThat(marge.post("/settings/grants/" + puid + "/pause", Map.of()).statusCode())
        .isEqualTo(303);
    assertThat(done(node.server().appFeatures().grants().puidState(id, puid)))
        .isEqualTo(PuidState.PAUSED);
    assertThat(marge.get("/settings").body()).contains("/settings/grants/" + puid + "/resume");

    assertThat(marge.post("/settings/grants/" + puid + "/resume", Map.of()).statusCode())
        .isEqualTo(303);
    assertThat(done(node.server().appFeatures().grants().puidState(id, puid)))
        .isEqualTo(PuidState.ACTIVE);

    HttpResponse<String> policy =
        marge.post(
            "/settings",
            Map.of(
                "online_within_minutes", "10",
                "away_after_minutes", "15",
                "offline_after_minutes", "25",
                "custom_status", "Brewing",
                "away_message", "Back soon"));
    assertThat(policy.statusCode()).isEqualTo(303);
    assertThat(
            json(ApiClient.forEmail(node, mail("marge")).get("/api/settings"))
                .get("away_after_minutes")
                .asInt())
        .isEqualTo(15);

    assertThat(marge.post("/settings/grants/" + puid + "/revoke", Map.of()).statusCode())
        .isEqualTo(303);
    assertThat(done(node.server().appFeatures().grants().puidState(id, puid)))
        .isEqualTo(PuidState.REVOKED);
    assertThat(marge.get("/settings").body()).contains("No application sees your presence.");

    HttpResponse<String> deactivated = devWeb.post(appPath + "/deactivate", Map.of());
    assertThat(deactivated.statusCode()).isEqualTo(303);
    assertThat(keyWorks(node, id, k2.group(1))).isFalse();
  }
}
