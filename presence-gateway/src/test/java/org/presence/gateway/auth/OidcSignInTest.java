package org.presence.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.net.InetAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.http.OAuth2HttpRequest;
import no.nav.security.mock.oauth2.http.OAuth2HttpResponse;
import no.nav.security.mock.oauth2.http.Route;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import okhttp3.Headers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.PresenceServer;
import org.presence.gateway.pages.SignInPages;
import org.presence.gateway.testing.ExpiredRows;
import org.presence.gateway.testing.LogCapture;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WebClient;
import org.presence.protocol.error.ProtocolException;
import org.presence.store.db.SignInRetention;

/**
 * Sign-in through a real OpenID Connect provider (mock-oauth2-server on loopback) over real
 * sockets, and each bad input of the flow refused with a clear page and nothing else affected.
 */
class OidcSignInTest {
  private static final String CLIENT = "presence-test";

  /** The fixed reason of a provider answer that fails a check, as the page shows it (escaped). */
  private static final String UNVERIFIED_ON_THE_PAGE = OidcSignIn.UNVERIFIED.replace("'", "&#39;");

  private MockOAuth2Server provider;

  /** An ID token the provider's token endpoint answers with once, instead of its own. */
  private final AtomicReference<String> nextIdToken = new AtomicReference<>();

  private final Route tokenOverride =
      new Route() {
        @Override
        public boolean match(OAuth2HttpRequest r) {
          return nextIdToken.get() != null
              && r.getMethod().equals("POST")
              && r.getUrl().encodedPath().endsWith("/token");
        }

        @Override
        public OAuth2HttpResponse invoke(OAuth2HttpRequest r) {
          String body =
              "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"expires_in\":60,"
                  + "\"id_token\":\""
                  + nextIdToken.getAndSet(null)
                  + "\"}";
          return new OAuth2HttpResponse(
              Headers.of("Content-Type", "application/json"), 200, body, null);
        }
      };
  private TestNode node;
  private String issuer;

  @BeforeEach
  void start(@TempDir Path dir) {
    provider = new MockOAuth2Server(tokenOverride);
    provider.start(InetAddress.getLoopbackAddress(), 0);
    issuer = provider.issuerUrl("default").toString();
    Map<String, String> s = TestNode.baseSettings(dir);
    s.put("identity.oidc.issuer", issuer);
    s.put("identity.oidc.client-id", CLIENT);
    s.put("identity.oidc.client-secret", "not-a-secret-at-the-mock");
    s.put("outbound.allow-loopback", "true");
    // The provider's first answers are slow on a busy machine (it makes its keys then).
    s.put("identity.oidc.timeout", "30s");
    node = TestNode.start(s, r -> {});
  }

  @AfterEach
  void stop() {
    if (node != null) {
      node.close();
    }
    provider.shutdown();
  }

  /** The provider's authorization URL for a sign-in started by {@code c}, to come back to next. */
  private URI startSignIn(WebClient c, String next) {
    HttpResponse<String> page = c.get("/signin");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body()).contains("id=\"oidc-sign-in\"").doesNotContain("name=\"token\"");
    // The form ends at the provider: the page's policy must allow it.
    assertThat(page.headers().firstValue("Content-Security-Policy").orElseThrow())
        .contains("form-action 'self' " + providerOrigin());
    HttpResponse<String> go = c.post("/signin/oidc", Map.of("next", next));
    assertThat(go.statusCode()).isEqualTo(303);
    return URI.create(go.headers().firstValue("Location").orElseThrow());
  }

  private String providerOrigin() {
    URI u = URI.create(issuer);
    return u.getScheme() + "://" + u.getRawAuthority();
  }

  /** The provider's answer (its redirect back to the node's callback) for {@code authorize}. */
  private URI authorize(WebClient c, URI authorize) {
    HttpResponse<String> r = c.getUri(authorize);
    assertThat(r.statusCode()).isEqualTo(302);
    URI back = URI.create(r.headers().firstValue("Location").orElseThrow());
    assertThat(back.getPath()).isEqualTo(OidcSignIn.CALLBACK);
    return back;
  }

  private static Map<String, String> query(URI u) {
    Map<String, String> m = new HashMap<>();
    for (String part : u.getRawQuery().split("&")) {
      int eq = part.indexOf('=');
      m.put(
          URLDecoder.decode(part.substring(0, eq), StandardCharsets.UTF_8),
          URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8));
    }
    return m;
  }

  private static String sessionCookie(HttpResponse<String> r) {
    return r.headers().allValues("Set-Cookie").stream()
        .filter(c -> c.startsWith(WebSessions.SESSION_COOKIE + "="))
        .map(c -> c.substring(WebSessions.SESSION_COOKIE.length() + 1, c.indexOf(';')))
        .findFirst()
        .orElse(null);
  }

  private static HttpResponse<String> withCookie(URI uri, String session) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(uri)
                .header("Cookie", WebSessions.SESSION_COOKIE + "=" + session)
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }

  /** Signs {@code c} in; answers the callback's response (303 with the session cookie). */
  private HttpResponse<String> signIn(WebClient c, String next) {
    URI back = authorize(c, startSignIn(c, next));
    HttpResponse<String> done = c.getUri(back);
    assertThat(done.statusCode()).as(done.body()).isEqualTo(303);
    return done;
  }

  @Test
  void signIn_throughTheProvider_opensAServerSideSessionThatSignOutEndsEverywhere()
      throws Exception {
    provider.enqueueCallback(
        new DefaultOAuth2TokenCallback(
            "default",
            "alice-at-provider",
            "JWT",
            List.of(CLIENT),
            Map.of("email", "alice@example.com", "email_verified", true),
            3600));
    WebClient c = new WebClient(node);
    URI authorize = startSignIn(c, "/settings");
    Map<String, String> q = query(authorize);
    assertThat(authorize.toString()).startsWith(issuer);
    assertThat(q).containsEntry("client_id", CLIENT).containsEntry("response_type", "code");
    assertThat(q).containsEntry("code_challenge_method", "S256");
    assertThat(q.get("state")).hasSizeGreaterThanOrEqualTo(20);
    assertThat(q.get("nonce")).hasSizeGreaterThanOrEqualTo(20);
    assertThat(q.get("redirect_uri")).isEqualTo(node.uri(OidcSignIn.CALLBACK).toString());
    assertThat(q.get("scope")).isEqualTo("openid email");

    HttpResponse<String> done = c.getUri(authorize(c, authorize));
    assertThat(done.statusCode()).isEqualTo(303);
    assertThat(done.headers().firstValue("Location")).hasValue("/settings");
    String cookie = sessionCookie(done);
    assertThat(cookie).matches("[A-Za-z0-9_-]{43}");
    HttpResponse<String> settings = c.get("/settings");
    assertThat(settings.statusCode()).isEqualTo(200);
    assertThat(withCookie(node.uri("/settings"), cookie).statusCode()).isEqualTo(200);

    // The user is the provider's subject scoped by its issuer.
    List<String> users =
        node.server()
            .store()
            .persistence()
            .db()
            .jdbi()
            .withHandle(
                h -> h.createQuery("SELECT user_sub FROM web_sessions").mapTo(String.class).list());
    assertThat(users).containsExactly("oidc:" + OidcSignIn.tag(issuer) + ":alice-at-provider");
    assertThat(settings.body()).contains("alice@example.com");
    assertThat(settings.body()).contains("Sign out everywhere");

    HttpResponse<String> out = c.post("/signout", Map.of());
    assertThat(out.statusCode()).isEqualTo(303);
    // The copied cookie died with the session.
    HttpResponse<String> copied = withCookie(node.uri("/settings"), cookie);
    assertThat(copied.statusCode()).isEqualTo(303);
    assertThat(copied.headers().firstValue("Location").orElseThrow()).startsWith("/signin");
  }

  @Test
  void callback_whenTheStateIsReplayedOrWrong_thenRefusedAndTheSessionUntouched() {
    WebClient c = new WebClient(node);
    URI back = authorize(c, startSignIn(c, "/settings"));
    assertThat(c.getUri(back).statusCode()).isEqualTo(303);
    assertThat(c.get("/settings").statusCode()).isEqualTo(200);

    HttpResponse<String> replay = c.getUri(back);
    assertThat(replay.statusCode()).isEqualTo(401);
    assertThat(replay.body()).contains("unknown, expired or already used");
    // Signed in already: the page says the link was used, not "You need to sign in".
    assertThat(replay.body())
        .contains("This sign-in link was already used or has expired")
        .contains("You are still signed in.")
        .doesNotContain("You need to sign in")
        .doesNotContain("id=\"error-sign-in\"");
    assertThat(c.get("/settings").statusCode()).isEqualTo(200);

    HttpResponse<String> wrong = c.get(OidcSignIn.CALLBACK + "?code=abc&state=not-a-state");
    assertThat(wrong.statusCode()).isEqualTo(401);
    assertThat(wrong.body()).contains("unknown, expired or already used");
    HttpResponse<String> none = c.get(OidcSignIn.CALLBACK + "?code=abc");
    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.body()).contains("no sign-in state");
    assertThat(c.get("/settings").statusCode()).isEqualTo(200);
  }

  @Test
  void callback_whenACodeIsUsedTwice_thenTheProviderRefusesItAndNoSessionOpens() {
    WebClient c = new WebClient(node);
    URI first = authorize(c, startSignIn(c, "/"));
    assertThat(c.getUri(first).statusCode()).isEqualTo(303);
    c.post("/signout", Map.of());

    WebClient d = new WebClient(node);
    URI second = authorize(d, startSignIn(d, "/"));
    String reused =
        OidcSignIn.CALLBACK
            + "?code="
            + query(first).get("code")
            + "&state="
            + query(second).get("state");
    HttpResponse<String> r = d.get(reused);
    assertThat(r.statusCode()).isEqualTo(401);
    // A provider that keeps codes single-use refuses it at the token endpoint; one that does not
    // (the mock) answers with an ID token without this sign-in's nonce, refused as well.
    assertThat(r.body()).containsAnyOf("the provider refused the code", UNVERIFIED_ON_THE_PAGE);
    assertThat(sessionCookie(r)).isNull();
    assertThat(d.get("/settings").statusCode()).isEqualTo(303);
  }

  @Test
  void callback_fromAnotherBrowser_isRefused_loginCsrf() {
    WebClient attacker = new WebClient(node);
    URI back = authorize(attacker, startSignIn(attacker, "/"));
    WebClient victim = new WebClient(node);
    victim.get("/");
    HttpResponse<String> r = victim.getUri(back);
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(r.body()).contains("started in another browser");
    assertThat(sessionCookie(r)).isNull();
    assertThat(victim.get("/settings").statusCode()).isEqualTo(303);
    // A browser with no cookie at all fares no better (it is sent back to the sign-in page, which
    // says cookies are needed), nor does a start without the form token.
    WebClient bare = new WebClient(node);
    HttpResponse<String> noCookie = bare.postRaw("/signin/oidc", "next=%2F");
    assertThat(noCookie.statusCode()).isEqualTo(303);
    assertThat(noCookie.headers().firstValue("Location"))
        .hasValue("/signin?cookies=needed&next=%2F");
  }

  /**
   * Another browser's callback is refused without spending the state: the browser that started the
   * sign-in still finishes it.
   */
  @Test
  void callback_fromAnotherBrowser_leavesTheStateForTheBrowserThatStartedIt() {
    WebClient real = new WebClient(node);
    URI back = authorize(real, startSignIn(real, "/settings"));
    WebClient other = new WebClient(node);
    other.get("/");
    assertRefused(other.getUri(back), "started in another browser");
    // And one with no cookie at all.
    assertThat(withoutCookies(back).statusCode()).isEqualTo(401);
    HttpResponse<String> done = real.getUri(back);
    assertThat(done.statusCode()).as(done.body()).isEqualTo(303);
    assertThat(done.headers().firstValue("Location")).hasValue("/settings");
    // Used now: by no one again.
    assertRefused(real.getUri(back), "already used");
    assertRefused(other.getUri(back), "already used");
  }

  private static HttpResponse<String> withoutCookies(URI uri) {
    try {
      return HttpClient.newHttpClient()
          .send(HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private int storedLogins() {
    return node.server()
        .store()
        .persistence()
        .db()
        .jdbi()
        .withHandle(
            h -> h.createQuery("SELECT COUNT(*) FROM oidc_logins").mapTo(Integer.class).one());
  }

  /**
   * Each start stores a row: one address gets identity.oidc.start-burst (20) of them at once, then
   * 429 with Retry-After on the error page, and no row.
   */
  @Test
  void start_manyFromOneAddress_areRefusedAfterTheBurst_with429AndRetryAfter() {
    WebClient c = new WebClient(node);
    assertThat(c.get("/signin").statusCode()).isEqualTo(200);
    for (int i = 0; i < 20; i++) {
      HttpResponse<String> go = c.post("/signin/oidc", Map.of("next", "/"));
      assertThat(go.statusCode()).as("start %d", i).isEqualTo(303);
    }
    HttpResponse<String> limited = c.post("/signin/oidc", Map.of("next", "/"));
    assertThat(limited.statusCode()).isEqualTo(429);
    long retry = Long.parseLong(limited.headers().firstValue("Retry-After").orElseThrow());
    assertThat(retry).isBetween(1L, 10L);
    assertThat(limited.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/html");
    assertThat(limited.body()).contains("too many sign-ins started from this address");
    assertThat(storedLogins()).isEqualTo(20);
    // Another browser on the same address shares the address's bucket.
    WebClient d = new WebClient(node);
    d.get("/signin");
    assertThat(d.post("/signin/oidc", Map.of("next", "/")).statusCode()).isEqualTo(429);
  }

  /** What a start stores stays small: a long next is stored as "/" (the row's one free field). */
  @Test
  void start_withALongNext_storesASmallRow_andComesBackHome() {
    WebClient c = new WebClient(node);
    String ascii = "/" + "a".repeat(4000);
    // Percent-encoded by safeNext to 9 characters each: 9,001 characters from a 1,001-long next.
    final String wide = "/" + "\u3002".repeat(1000);
    HttpResponse<String> done = signIn(c, ascii);
    assertThat(done.headers().firstValue("Location")).hasValue("/");
    startSignIn(new WebClient(node), wide);
    int longest =
        node.server()
            .store()
            .persistence()
            .db()
            .jdbi()
            .withHandle(
                h ->
                    h.createQuery("SELECT MAX(LENGTH(next_path)) FROM oidc_logins")
                        .mapTo(Integer.class)
                        .one());
    assertThat(longest).isLessThanOrEqualTo(512);
  }

  @Test
  void signOut_withoutTheFormToken_isRefusedAndTheSessionStays_logoutCsrf() {
    WebClient c = new WebClient(node);
    signIn(c, "/");
    HttpResponse<String> forged = c.postRaw("/signout", "");
    assertThat(forged.statusCode()).isEqualTo(403);
    assertThat(c.get("/settings").statusCode()).isEqualTo(200);
  }

  @Test
  void next_offTheNode_isReplacedByTheHomePage() {
    for (String next : List.of("https://evil.example/", "//evil.example/x", "/\\evil.example")) {
      WebClient c = new WebClient(node);
      HttpResponse<String> done = signIn(c, next);
      assertThat(done.headers().firstValue("Location")).as(next).hasValue("/");
    }
  }

  /**
   * What a {@code Location} cannot carry as it is (outside ASCII, a space) is percent-encoded, so
   * the path stays the one asked for (the header turned {@code /\u3002evil.com} into {@code
   * /?evil.com}).
   */
  @Test
  void next_outsideAscii_orWithASpace_isPercentEncoded_andStaysOnTheNode() {
    assertThat(SignInPages.safeNext("/\u3002evil.com")).isEqualTo("/%E3%80%82evil.com");
    assertThat(SignInPages.safeNext("/ /evil.com")).isEqualTo("/%20/evil.com");
    assertThat(SignInPages.safeNext("/settings?x=1")).isEqualTo("/settings?x=1");
    assertThat(SignInPages.safeNext("/a%2Fb?q=%C3%A9 x")).isEqualTo("/a%2Fb?q=%C3%A9%20x");
    WebClient c = new WebClient(node);
    HttpResponse<String> done = signIn(c, "/\u00e9t\u00e9");
    assertThat(done.headers().firstValue("Location")).hasValue("/%C3%A9t%C3%A9");
  }

  /** Runs a sign-in whose token endpoint answers with {@code idToken}; the callback's answer. */
  private HttpResponse<String> signInWithIdToken(
      WebClient c, java.util.function.Function<String, String> idToken) {
    URI authorize = startSignIn(c, "/");
    String nonce = query(authorize).get("nonce");
    URI back = authorize(c, authorize);
    nextIdToken.set(idToken.apply(nonce));
    return c.getUri(back);
  }

  private String mockToken(String issuerId, String nonce, long expirySeconds) {
    return provider
        .issueToken(
            issuerId,
            CLIENT,
            new DefaultOAuth2TokenCallback(
                issuerId, "alice", "JWT", List.of(CLIENT), Map.of("nonce", nonce), expirySeconds))
        .serialize();
  }

  /**
   * A token of the provider's own key with exactly {@code claims} (and sub, aud, nonce, iss and the
   * times), unlike {@link #token}, whose callback sets azp to the client id.
   */
  private String anyToken(String nonce, List<String> aud, Map<String, Object> claims) {
    Map<String, Object> all = new HashMap<>(claims);
    all.put("nonce", nonce);
    all.put("sub", "alice");
    all.put("aud", aud);
    return provider.anyToken(provider.issuerUrl("default"), all).serialize();
  }

  /** A token of the provider's own key with {@code claims} (the nonce added) for {@code aud}. */
  private String token(String nonce, String sub, List<String> aud, Map<String, Object> claims) {
    Map<String, Object> all = new HashMap<>(claims);
    all.put("nonce", nonce);
    return provider
        .issueToken(
            "default",
            CLIENT,
            new DefaultOAuth2TokenCallback("default", sub, "JWT", aud, all, 3600))
        .serialize();
  }

  private List<String> sessionEmails() {
    return node.server()
        .store()
        .persistence()
        .db()
        .jdbi()
        .withHandle(
            h -> h.createQuery("SELECT email FROM web_sessions").mapTo(String.class).list());
  }

  /** A token not valid before an hour from now is refused (nimbus's IDTokenValidator lets it). */
  @Test
  void idToken_notValidYet_thenRefused() {
    long later = Instant.now().plus(Duration.ofHours(1)).getEpochSecond();
    assertUnverified(
        n -> token(n, "alice", List.of(CLIENT), Map.of("nbf", later)), "before use time");
    // Within the clock skew it is fine.
    long soon = Instant.now().plusSeconds(5).getEpochSecond();
    HttpResponse<String> ok =
        signInWithIdToken(
            new WebClient(node), n -> token(n, "alice", List.of(CLIENT), Map.of("nbf", soon)));
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(303);
  }

  /** OIDC Core 3.1.3.7 items 4 and 5: several audiences need azp, and azp must be this client. */
  @Test
  void idToken_forSeveralAudiences_needsAnAuthorizedPartyThatIsThisClient() {
    assertUnverified(
        n -> anyToken(n, List.of(CLIENT, "evil"), Map.of("azp", "evil")), "authorized party");
    assertUnverified(n -> anyToken(n, List.of(CLIENT, "evil"), Map.of()), "authorized party");
    assertUnverified(n -> anyToken(n, List.of(CLIENT), Map.of("azp", "evil")), "authorized party");
    HttpResponse<String> ok =
        signInWithIdToken(
            new WebClient(node), n -> anyToken(n, List.of(CLIENT, "other"), Map.of("azp", CLIENT)));
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(303);
    assertThat(sessionEmails()).hasSize(1);
  }

  /**
   * An email is taken only with email_verified true, the JSON boolean or the string "true"; else
   * the person has none (and signs in), and the pages name them by their user id.
   */
  @Test
  void idToken_emailNotVerified_isNotTakenAsTheUsersEmail() {
    for (Map<String, Object> claims :
        List.<Map<String, Object>>of(
            Map.of("email", "boss@example.com", "email_verified", false),
            Map.of("email", "boss@example.com"),
            Map.of("email", "boss@example.com", "email_verified", "false"),
            Map.of("email", "boss@example.com", "email_verified", "TRUE"),
            Map.of("email", "boss@example.com", "email_verified", "yes"),
            Map.of("email", "boss@example.com", "email_verified", 1))) {
      WebClient c = new WebClient(node);
      HttpResponse<String> r =
          signInWithIdToken(c, n -> token(n, "mallory", List.of(CLIENT), claims));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(303);
      HttpResponse<String> settings = c.get("/settings");
      assertThat(settings.statusCode()).isEqualTo(200);
      assertThat(settings.body()).as(claims.toString()).doesNotContain("boss@example.com");
      // Not an empty "signed in as": the user id.
      assertThat(settings.body())
          .contains(
              "id=\"signed-in-as\"><bdi>oidc:" + OidcSignIn.tag(issuer) + ":mallory</bdi></span>");
    }
    assertThat(sessionEmails()).containsOnly("");
    for (Object verified : List.of(true, "true")) {
      WebClient c = new WebClient(node);
      signInWithIdToken(
          c,
          n ->
              token(
                  n,
                  "carol",
                  List.of(CLIENT),
                  Map.of("email", "carol@example.com", "email_verified", verified)));
      assertThat(c.get("/settings").body())
          .as(String.valueOf(verified))
          .contains("id=\"signed-in-as\"><bdi>carol@example.com</bdi></span>");
    }
  }

  /**
   * A sign-in whose node's clock is ten days ahead of the system's ({@code now}), finished with the
   * ID token {@code idToken} makes for the nonce: the identity, or the failure.
   */
  private CompletableFuture<OidcSignIn.Result> finishOnClock(
      Instant now, java.util.function.Function<String, String> idToken) {
    PresenceServer server = node.server();
    OidcSignIn oidc =
        new OidcSignIn(
            server.config().web().oidc(),
            server.appFeatures().outbound(),
            server.store().persistence().db(),
            server::baseUrl,
            server.config().identity().clockSkew(),
            Clock.fixed(now, ZoneOffset.UTC));
    URI authorize = oidc.start("browser", "/").toCompletableFuture().join();
    URI back = authorize(new WebClient(node), authorize);
    nextIdToken.set(idToken.apply(query(authorize).get("nonce")));
    Map<String, List<String>> answer = new HashMap<>();
    query(back).forEach((k, v) -> answer.put(k, List.of(v)));
    return oidc.finish("browser", answer).toCompletableFuture();
  }

  /**
   * Starting a sign-in deletes at most {@link SignInRetention#ON_REQUEST} expired unfinished ones,
   * oldest first, whatever the backlog; the sweep deletes the rest.
   */
  @Test
  void start_deletesABoundedShareOfExpiredSignIns() {
    Instant now = Instant.now();
    var jdbi = node.server().store().persistence().db().jdbi();
    ExpiredRows.insert(
        jdbi,
        now,
        "INSERT INTO oidc_logins (state_hash, browser_hash, nonce, code_verifier, next_path,"
            + " expires_at) VALUES (:id, 'old', 'n', 'v', '/', :at)");
    PresenceServer server = node.server();
    new OidcSignIn(
            server.config().web().oidc(),
            server.appFeatures().outbound(),
            server.store().persistence().db(),
            server::baseUrl,
            server.config().identity().clockSkew(),
            Clock.fixed(now, ZoneOffset.UTC))
        .start("browser", "/")
        .toCompletableFuture()
        .join();
    ExpiredRows.assertOldestDeleted(
        jdbi, "SELECT state_hash FROM oidc_logins WHERE browser_hash = 'old'");
  }

  /** exp, nbf and iat are checked on the node's clock, not the system's. */
  @Test
  void idToken_times_areCheckedOnTheNodesClock() {
    Instant later = Instant.now().plus(Duration.ofDays(10));
    long t = later.getEpochSecond();
    // Issued and valid at the node's time: fine, though ten days ahead of the system clock.
    OidcSignIn.Result ok =
        finishOnClock(
                later,
                n ->
                    token(
                        n,
                        "alice",
                        List.of(CLIENT),
                        Map.of("iat", t - 60, "nbf", t - 60, "exp", t + 3600)))
            .join();
    assertThat(ok.identity().subject()).endsWith(":alice");
    // Valid by the system clock, expired ten days ago by the node's.
    assertThat(why(finishOnClock(later, n -> token(n, "alice", List.of(CLIENT), Map.of()))))
        .contains("xpired");
    // Not valid before, or issued, ten minutes after the node's time (beyond the skew, 60 s).
    for (String claim : List.of("nbf", "iat")) {
      assertThat(
              why(
                  finishOnClock(
                      later,
                      n ->
                          token(
                              n,
                              "alice",
                              List.of(CLIENT),
                              Map.of(claim, t + 600, "exp", t + 3600)))))
          .as(claim)
          .contains(claim.equals("nbf") ? "before use time" : "issue time (iat)");
    }
  }

  /** The subject becomes the user id: one line of visible text, or the sign-in fails. */
  @Test
  void idToken_subjectWithAControlOrBidiCharacter_thenRefused() {
    for (String sub : List.of("alice\u202Eevil", "alice\nINFO forged line", "alice\u200B")) {
      assertRefused(
          signInWithIdToken(new WebClient(node), n -> token(n, sub, List.of(CLIENT), Map.of())),
          "not one line of visible text");
    }
    // A blank one is refused too, as a refusal, not a 500 (nimbus's Subject throws for it).
    assertRefused(
        signInWithIdToken(new WebClient(node), n -> token(n, " ", List.of(CLIENT), Map.of())),
        "not one line of visible text (it is blank)");
    assertThat(sessionEmails()).isEmpty();
  }

  /**
   * A sign-in finished with {@code idToken} is refused with the fixed reason ({@link
   * #assertUnverifiedPage}), and, finished on a node's {@link OidcSignIn} of its own, with a cause
   * that says {@code why}.
   */
  private void assertUnverified(java.util.function.Function<String, String> idToken, String why) {
    assertUnverified(new WebClient(node), idToken, why);
  }

  private void assertUnverified(
      WebClient c, java.util.function.Function<String, String> idToken, String why) {
    assertUnverifiedPage(signInWithIdToken(c, idToken));
    assertThat(why(finishOnClock(Instant.now(), idToken))).contains(why);
  }

  /** 401, the fixed reason, and nothing of nimbus's (class names, "JWT", its messages). */
  private void assertUnverifiedPage(HttpResponse<String> r) {
    assertRefused(r, UNVERIFIED_ON_THE_PAGE);
    assertThat(r.body())
        .doesNotContainIgnoringCase("nimbus")
        .doesNotContainIgnoringCase("jwt")
        .doesNotContainIgnoringCase("jose")
        .doesNotContain("Exception")
        .doesNotContain("HS256");
  }

  /**
   * What the log says of a refused sign-in (the visitor sees only {@link OidcSignIn#UNVERIFIED}):
   * the messages of the failure's causes, which nimbus's exception is one of.
   */
  private static String why(CompletableFuture<OidcSignIn.Result> finished) {
    Throwable t = null;
    try {
      finished.get(30, java.util.concurrent.TimeUnit.SECONDS);
    } catch (ExecutionException | CompletionException e) {
      t = e.getCause();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    assertThat(t).isInstanceOf(ProtocolException.class);
    assertThat(((ProtocolException) t).detail()).isEqualTo(OidcSignIn.UNVERIFIED);
    StringBuilder all = new StringBuilder();
    for (Throwable c = t.getCause(); c != null; c = c.getCause()) {
      all.append(c.getClass().getSimpleName()).append(": ").append(c.getMessage()).append('\n');
    }
    return all.toString();
  }

  private void assertRefused(HttpResponse<String> r, String reason) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(401);
    assertThat(r.body()).contains(reason);
    assertThat(sessionCookie(r)).isNull();
  }

  @Test
  void idToken_whenTheNonceDiffers_thenRefused() {
    WebClient c = new WebClient(node);
    assertUnverified(c, n -> mockToken("default", "another-nonce", 3600), "nonce");
    assertThat(c.get("/settings").statusCode()).isEqualTo(303);
    // The same provider and node still sign people in.
    signIn(new WebClient(node), "/");
  }

  @Test
  void idToken_fromAnotherIssuer_thenRefused() {
    WebClient c = new WebClient(node);
    // Signed by the provider's own key, but naming another issuer.
    assertUnverified(
        c,
        n ->
            provider
                .issueToken(
                    "default",
                    CLIENT,
                    new DefaultOAuth2TokenCallback(
                        "default",
                        "alice",
                        "JWT",
                        List.of(CLIENT),
                        Map.of("nonce", n, "iss", "https://other.example/"),
                        3600))
                .serialize(),
        "issuer");
    // And a token of another issuer, with its own keys.
    assertUnverified(n -> mockToken("other", n, 3600), "rejected");
  }

  @Test
  void idToken_whenExpired_thenRefused() {
    WebClient c = new WebClient(node);
    assertUnverified(c, n -> mockToken("default", n, -3600), "xpired");
  }

  @Test
  void idToken_signedByAnUnknownKey_thenRefused() throws Exception {
    RSAKey stranger = new RSAKeyGenerator(2048).keyID("stranger").generate();
    assertUnverified(n -> signed(n, JWSAlgorithm.RS256, "stranger", stranger), "no matching key");
  }

  /** A token with the right claims for {@code nonce}, signed by {@code key} with {@code alg}. */
  private String signed(String nonce, JWSAlgorithm alg, String kid, Object key) {
    try {
      SignedJWT jwt =
          new SignedJWT(
              new JWSHeader.Builder(alg).keyID(kid).build(),
              new JWTClaimsSet.Builder()
                  .issuer(issuer)
                  .subject("alice")
                  .audience(CLIENT)
                  .claim("nonce", nonce)
                  .issueTime(new Date())
                  .expirationTime(Date.from(Instant.now().plus(Duration.ofHours(1))))
                  .build());
      jwt.sign(key instanceof RSAKey rsa ? new RSASSASigner(rsa) : new MACSigner((byte[]) key));
      return jwt.serialize();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A provider answer that fails a check (the nonce, the issuer, the signature, the algorithm, a
   * token answer whose ID token is not a JWT) is refused with 401 and the fixed reason, nothing of
   * nimbus's message (its classes, "JWT", the token's claims); the log says what failed, a line per
   * interval however many are refused.
   */
  @Test
  void idToken_failingACheck_showsAFixedReason_andTheLogSaysWhy() throws Exception {
    RSAKey stranger = new RSAKeyGenerator(2048).keyID("stranger").generate();
    byte[] secret = "not-a-secret-at-the-mock-padded-to-32-bytes".getBytes(StandardCharsets.UTF_8);
    List<String> warnings;
    try (LogCapture log = LogCapture.of(OidcSignIn.class)) {
      assertUnverifiedPage(
          signInWithIdToken(new WebClient(node), n -> mockToken("default", "another-nonce", 3600)));
      assertUnverifiedPage(
          signInWithIdToken(
              new WebClient(node), n -> signed(n, JWSAlgorithm.RS256, "stranger", stranger)));
      assertUnverifiedPage(
          signInWithIdToken(
              new WebClient(node), n -> signed(n, JWSAlgorithm.HS256, "mac", secret)));
      assertUnverifiedPage(signInWithIdToken(new WebClient(node), n -> "not-a-jwt"));
      warnings = log.at(ch.qos.logback.classic.Level.WARN);
    }
    // The first refusal at once, with what failed (the others within the interval are counted,
    // and said with the next line after it).
    List<String> lines =
        warnings.stream().filter(l -> l.startsWith("OpenID Connect sign-in refused")).toList();
    assertThat(lines).isNotEmpty();
    assertThat(lines.get(0)).contains("the ID token was refused").contains("nonce");
    // What the algorithm's and the token answer's refusals keep for the log.
    assertThat(why(finishOnClock(Instant.now(), n -> signed(n, JWSAlgorithm.HS256, "mac", secret))))
        .contains("algorithm HS256 is not one the provider signs with");
    assertThat(why(finishOnClock(Instant.now(), n -> "not-a-jwt"))).contains("ParseException");
  }

  @Test
  void settings_listsThePageSessions_endsNoOneElses_andSignsOutEverywhere() {
    // Two people (the provider gives each non-interactive sign-in a subject of its own).
    WebClient alice = new WebClient(node);
    signIn(alice, "/");
    WebClient bob = new WebClient(node);
    String bobCookie = sessionCookie(signIn(bob, "/"));
    HttpResponse<String> page = alice.get("/settings");
    assertThat(page.body()).contains("(this browser)").contains("Sign out everywhere");
    assertThat(page.body()).doesNotContain(WebSessions.hash(bobCookie));

    // Ending someone else's session: without the form token refused, with it nothing of hers.
    String bobId = WebSessions.hash(bobCookie);
    assertThat(alice.postRaw("/settings/sessions/" + bobId + "/end", "").statusCode())
        .isEqualTo(403);
    assertThat(alice.post("/settings/sessions/" + bobId + "/end", Map.of()).statusCode())
        .isEqualTo(404);
    assertThat(bob.get("/settings").statusCode()).isEqualTo(200);

    alice.get("/settings");
    HttpResponse<String> all = alice.post("/settings/sessions/end-all", Map.of());
    assertThat(all.statusCode()).isEqualTo(303);
    assertThat(alice.get("/settings").statusCode()).isEqualTo(303);
    assertThat(bob.get("/settings").statusCode()).isEqualTo(200);
  }

  @Test
  void settings_signOutOfOneSession_endsThatBrowserOnly() throws Exception {
    provider.enqueueCallback(
        new DefaultOAuth2TokenCallback("default", "bob", "JWT", List.of(CLIENT), Map.of(), 3600));
    WebClient laptop = new WebClient(node);
    signIn(laptop, "/");
    provider.enqueueCallback(
        new DefaultOAuth2TokenCallback("default", "bob", "JWT", List.of(CLIENT), Map.of(), 3600));
    WebClient phone = new WebClient(node);
    String phoneCookie = sessionCookie(signIn(phone, "/"));
    String phoneId = WebSessions.hash(phoneCookie);
    HttpResponse<String> page = laptop.get("/settings");
    assertThat(page.body()).contains("/settings/sessions/" + phoneId + "/end");
    HttpResponse<String> end = laptop.post("/settings/sessions/" + phoneId + "/end", Map.of());
    assertThat(end.statusCode()).isEqualTo(303);
    assertThat(end.headers().firstValue("Location")).hasValue("/settings?done=session-ended");
    assertThat(phone.get("/settings").statusCode()).isEqualTo(303);
    assertThat(withCookie(node.uri("/settings"), phoneCookie).statusCode()).isEqualTo(303);
    assertThat(laptop.get("/settings").statusCode()).isEqualTo(200);
    // Ending it again: nothing of the user's by that id.
    assertThat(laptop.post("/settings/sessions/" + phoneId + "/end", Map.of()).statusCode())
        .isEqualTo(404);
  }
}
