package org.presence.gateway.pairing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.ExpiredRows;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WebClient;
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.device.DeviceMessage.Connected;
import org.presence.protocol.device.DeviceMessage.Refresh;
import org.presence.protocol.device.DeviceMessage.Refreshed;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.db.SignInRetention;

/**
 * Pairing end to end over real sockets on an embedded node: the device asks for a code over HTTP,
 * the user signs in (development sign-in) and approves it at /pair, the device polls for its
 * tokens, connects with the identity token Presence signed, refreshes it on the live socket; and
 * each bad input (a guessed or expired code, polling too fast, a revoked refresh token, a refresh
 * for another user) is refused.
 */
class PairingFlowTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path root;
  static TestNode node;

  /** A node whose codes and tokens expire within a second or two. */
  static TestNode shortLived;

  @BeforeAll
  static void start() {
    Map<String, String> s = TestNode.baseSettings(root.resolve("a"));
    s.put("pairing.poll-interval", "1s");
    node = TestNode.start(s, r -> {});
    Map<String, String> t = TestNode.baseSettings(root.resolve("b"));
    t.put("node-id", "short-node");
    t.put("pairing.poll-interval", "1s");
    t.put("pairing.code-lifetime", "3s");
    t.put("pairing.token-lifetime", "1s");
    t.put("device.identity-grace", "1s");
    shortLived = TestNode.start(t, r -> {});
  }

  @AfterAll
  static void stop() {
    node.close();
    shortLived.close();
  }

  static HttpResponse<String> post(TestNode n, String path, String form) {
    return TestNode.send(
        HttpRequest.newBuilder(n.uri(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(form))
            .build());
  }

  static HttpResponse<String> post(TestNode n, String path, byte[] form) {
    return TestNode.send(
        HttpRequest.newBuilder(n.uri(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofByteArray(form))
            .build());
  }

  static JsonNode json(HttpResponse<String> r) throws Exception {
    return JSON.readTree(r.body());
  }

  static JsonNode authorize(TestNode n) throws Exception {
    HttpResponse<String> r = post(n, "/oauth/device_authorization", "client_id=presence-device");
    assertThat(r.statusCode()).isEqualTo(200);
    return json(r);
  }

  static HttpResponse<String> poll(TestNode n, String deviceCode) {
    return poll(n, deviceCode, "presence-device");
  }

  /** A device_code poll as {@code clientId}, or without a client_id when it is null. */
  static HttpResponse<String> poll(TestNode n, String deviceCode, String clientId) {
    Map<String, String> form = new java.util.HashMap<>();
    form.put("grant_type", "urn:ietf:params:oauth:grant-type:device_code");
    form.put("device_code", deviceCode);
    if (clientId != null) {
      form.put("client_id", clientId);
    }
    return post(n, "/oauth/token", WebClient.form(form));
  }

  static HttpResponse<String> refresh(TestNode n, String refreshToken) {
    return refresh(n, refreshToken, "presence-device");
  }

  /** A refresh as {@code clientId}, or without a client_id when it is null. */
  static HttpResponse<String> refresh(TestNode n, String refreshToken, String clientId) {
    Map<String, String> form = new java.util.HashMap<>();
    form.put("grant_type", "refresh_token");
    form.put("refresh_token", refreshToken);
    if (clientId != null) {
      form.put("client_id", clientId);
    }
    return post(n, "/oauth/token", WebClient.form(form));
  }

  static String error(HttpResponse<String> r) throws Exception {
    assertThat(r.statusCode()).isEqualTo(400);
    return json(r).get("error").asText();
  }

  /** Pairs a device for {@code email} on {@code n}; returns the token answer. */
  static JsonNode pair(TestNode n, String email, String name) throws Exception {
    JsonNode a = authorize(n);
    assertThat(a.get("verification_uri").asText()).isEqualTo(n.server().baseUrl() + "/pair");
    assertThat(a.get("user_code").asText()).matches("[BCDFGHJKLMNPQRSTVWXZ]{4}-[A-Z]{4}");
    assertThat(error(poll(n, a.get("device_code").asText()))).isEqualTo("authorization_pending");
    WebClient web = new WebClient(n).signIn(email);
    assertThat(web.get("/pair?code=" + a.get("user_code").asText()).body())
        .contains(a.get("user_code").asText());
    HttpResponse<String> approved =
        web.post(
            "/pair",
            Map.of("code", a.get("user_code").asText(), "name", name, "action", "approve"));
    // POST-redirect-GET: a reload of the outcome sends nothing again.
    assertThat(approved.statusCode()).isEqualTo(303);
    assertThat(approved.headers().firstValue("Location")).hasValue("/pair?done=approved");
    String outcome = web.follow(approved).body();
    assertThat(outcome)
        .contains("Approved: the device is pairing")
        .contains("appears here once it\n  finishes signing in")
        .doesNotContain("No paired");
    Thread.sleep(1100);
    HttpResponse<String> tokens = poll(n, a.get("device_code").asText());
    assertThat(tokens.statusCode()).as(tokens.body()).isEqualTo(200);
    // The code is used up.
    Thread.sleep(1100);
    assertThat(error(poll(n, a.get("device_code").asText()))).isEqualTo("invalid_grant");
    return json(tokens);
  }

  /**
   * An unauthenticated pairing request deletes at most {@link SignInRetention#ON_REQUEST} expired
   * ones, oldest first, whatever the backlog (a scale probe: 200,000 in one statement, 0.8 s); the
   * sweep deletes the rest.
   */
  @Test
  void authorize_deletesABoundedShareOfExpiredRequests() throws Exception {
    var jdbi = node.server().store().persistence().db().jdbi();
    ExpiredRows.insert(
        jdbi,
        Instant.now(),
        "INSERT INTO device_authorizations (code_hash, user_code, client_id, expires_at,"
            + " interval_seconds, state) VALUES (:id, :id, 'old', :at, 5, 'pending')");
    authorize(node);
    ExpiredRows.assertOldestDeleted(
        jdbi, "SELECT code_hash FROM device_authorizations WHERE client_id = 'old'");
  }

  @Test
  void pairedDeviceConnectsRefreshesAndIsRevoked() throws Exception {
    JsonNode tokens = pair(node, "pat@example.com", "Pat's laptop");
    String identityToken = tokens.get("access_token").asText();
    assertThat(tokens.get("expires_in").asLong()).isEqualTo(600);
    assertThat(json(node.get("/.well-known/jwks.json")).get("keys").size()).isPositive();

    String deviceId;
    try (DeviceTestClient d = DeviceTestClient.open(node)) {
      DeviceMessage reply = d.request(new Connect(identityToken, null, "laptop"));
      assertThat(reply).isInstanceOf(Connected.class);
      long expiresAt = ((Connected) reply).expiresAt();
      assertThat(expiresAt).isGreaterThan(System.currentTimeMillis() + 500_000);

      // A refresh with a new token of the same user extends the session.
      HttpResponse<String> again = refresh(node, tokens.get("refresh_token").asText());
      assertThat(again.statusCode()).isEqualTo(200);
      DeviceMessage refreshed = d.request(new Refresh(json(again).get("access_token").asText()));
      assertThat(refreshed).isInstanceOf(Refreshed.class);
      assertThat(((Refreshed) refreshed).expiresAt()).isGreaterThanOrEqualTo(expiresAt);

      // Another user's token is refused, the session kept; garbage too.
      d.send(new Refresh(node.token("someone-else@example.com")));
      assertThat(d.error()).isEqualTo(ErrorCode.IDENTITY_MISMATCH);
      d.send(new Refresh("not-a-token"));
      assertThat(d.error()).isEqualTo(ErrorCode.INVALID_ASSERTION);
      assertThat(d.status(org.presence.protocol.model.PresenceStatus.ONLINE, null))
          .isEqualTo(DeviceMessage.Ack.INSTANCE);

      // The device is listed at /pair and in /settings ("Paired devices"); the user revokes it
      // from /settings: its session ends, its refresh token is dead.
      WebClient web = new WebClient(node).signIn("pat@example.com");
      assertThat(web.get("/pair").body()).contains("Pat&#39;s laptop");
      String settings = web.get("/settings").body();
      assertThat(settings).contains("Paired devices").contains("Pat&#39;s laptop");
      java.util.regex.Matcher m =
          java.util.regex.Pattern.compile("/pair/devices/([0-9a-f-]{36})/revoke").matcher(settings);
      assertThat(m.find()).isTrue();
      deviceId = m.group(1);
      HttpResponse<String> revoked =
          web.post("/pair/devices/" + m.group(1) + "/revoke", Map.of("next", "settings"));
      assertThat(revoked.statusCode()).isEqualTo(303);
      assertThat(revoked.headers().firstValue("Location")).hasValue("/settings?done=device");
      assertThat(d.error()).isEqualTo(ErrorCode.DEVICE_REVOKED);
      assertThat(d.awaitClose().code()).isEqualTo(4012);
    }
    assertThat(error(refresh(node, tokens.get("refresh_token").asText())))
        .isEqualTo("invalid_grant");
    // Another user cannot revoke it (nothing to revoke of theirs), and revoking all again is a
    // no-op.
    WebClient other = new WebClient(node).signIn("mallory@example.com");
    other.get("/pair");
    assertThat(other.post("/pair/devices/all/revoke", Map.of()).headers().firstValue("Location"))
        .hasValue("/pair?done=revoked-all");
    // Revoking one device that is not theirs (or does not exist): the 404 error page.
    HttpResponse<String> notTheirs = other.post("/pair/devices/" + deviceId + "/revoke", Map.of());
    assertThat(notTheirs.statusCode()).isEqualTo(404);
    assertThat(notTheirs.headers().firstValue("Content-Type").orElseThrow())
        .startsWith("text/html");
    assertThat(notTheirs.body()).contains("There is no page at this address.");
    assertThat(
            other
                .post("/pair/devices/00000000-0000-0000-0000-000000000000/revoke", Map.of())
                .statusCode())
        .isEqualTo(404);
    // Its still-unexpired identity token no longer opens a session.
    try (DeviceTestClient d = DeviceTestClient.open(node)) {
      d.send(new Connect(identityToken, null, "laptop"));
      assertThat(d.error()).isEqualTo(ErrorCode.DEVICE_REVOKED);
    }
  }

  static void assertRefused(HttpResponse<String> r, ErrorCode code) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(401);
    assertThat(json(r).get("errno").asInt()).as(r.body()).isEqualTo(code.errno());
    assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
  }

  @Test
  void pairedDeviceToken_worksOnlyWhereTheDeviceUsesIt() throws Exception {
    String email = "quinn@example.com";
    String token = pair(node, email, "Quinn's desktop").get("access_token").asText();
    ApiClient device = new ApiClient(node, token);

    // Not the account's credential: the JSON API refuses it...
    HttpResponse<String> put = device.put("/api/settings", "{\"custom_status\": \"hijacked\"}");
    assertRefused(put, ErrorCode.UNAUTHORIZED);
    assertThat(json(put).get("reason").asText())
        .contains("a paired device's token works only on the device channel");
    assertRefused(
        device.post(
            "/api/apps",
            "{\"name\": \"Evil\", \"domain\": \"example.com\", \"description\": \"\"}"),
        ErrorCode.UNAUTHORIZED);
    assertRefused(device.get("/api/apps"), ErrorCode.UNAUTHORIZED);
    assertRefused(device.get("/api/grants"), ErrorCode.UNAUTHORIZED);
    // ...and the sign-in page's token form opens no session with it (a development token of the
    // same user does).
    WebClient w = new WebClient(node);
    w.get("/signin");
    HttpResponse<String> signIn = w.post("/signin", Map.of("token", token, "next", "/"));
    assertThat(signIn.statusCode()).isEqualTo(401);
    assertThat(signIn.body()).contains("works only on the device channel");
    assertThat(signIn.headers().allValues("Set-Cookie"))
        .noneMatch(c -> c.startsWith("presence_session="));
    assertThat(w.cookie("presence_session")).isNull();
    WebClient control = new WebClient(node);
    control.get("/signin");
    assertThat(
            control.post("/signin", Map.of("token", node.token(email), "next", "/")).statusCode())
        .isEqualTo(303);

    // Where the device uses it, it works: the device channel, and the daemon's read of its
    // user's presence policy (which the refused PUT did not change).
    HttpResponse<String> settings = device.get("/api/settings");
    assertThat(settings.statusCode()).as(settings.body()).isEqualTo(200);
    assertThat(settings.body()).doesNotContain("hijacked");
    try (DeviceTestClient d = DeviceTestClient.open(node)) {
      assertThat(d.request(new Connect(token, null, "desktop"))).isInstanceOf(Connected.class);
    }

    // Once the user revokes the device, its unexpired token reads nothing either.
    WebClient web = new WebClient(node).signIn(email);
    web.get("/pair");
    HttpResponse<String> revokedAll = web.post("/pair/devices/all/revoke", Map.of());
    assertThat(revokedAll.statusCode()).isEqualTo(303);
    assertThat(web.follow(revokedAll).body()).contains("Revoked all your paired devices");
    assertRefused(device.get("/api/settings"), ErrorCode.DEVICE_REVOKED);
    assertRefused(device.put("/api/settings", "{}"), ErrorCode.UNAUTHORIZED);
  }

  @Test
  void deniedPollingTooFastAndGuessedCodes() throws Exception {
    JsonNode a = authorize(node);
    String code = a.get("device_code").asText();
    assertThat(error(poll(node, code))).isEqualTo("authorization_pending");
    assertThat(error(poll(node, code))).isEqualTo("slow_down");

    WebClient web = new WebClient(node).signIn("guesser@example.com");
    web.get("/pair");
    HttpResponse<String> guessed =
        web.post("/pair", Map.of("code", "BBBB-BBBB", "name", "x", "action", "approve"));
    assertThat(guessed.statusCode()).isEqualTo(400);
    assertThat(guessed.body()).contains("Unknown or expired code");
    // CSRF: a form without the page's token is refused.
    HttpResponse<String> forged =
        web.postRaw(
            "/pair",
            WebClient.form(
                Map.of("code", a.get("user_code").asText(), "name", "x", "action", "approve")));
    assertThat(forged.statusCode()).isEqualTo(403);
    // Guessing is limited (pairing.max-code-attempts = 10 per code lifetime).
    for (int i = 0; i < 10; i++) {
      web.post("/pair", Map.of("code", "CCCC-CCC" + "BCDFGHJKLM".charAt(i), "action", "deny"));
    }
    HttpResponse<String> limited =
        web.post("/pair", Map.of("code", a.get("user_code").asText(), "action", "deny"));
    assertThat(limited.statusCode()).isEqualTo(429);

    WebClient owner = new WebClient(node).signIn("owner@example.com");
    owner.get("/pair");
    assertThat(
            owner
                .post("/pair", Map.of("code", a.get("user_code").asText(), "action", "deny"))
                .headers()
                .firstValue("Location"))
        .hasValue("/pair?done=denied");
    Thread.sleep(6100);
    assertThat(error(poll(node, code))).isEqualTo("access_denied");

    assertThat(error(poll(node, "made-up"))).isEqualTo("invalid_grant");
    assertThat(error(refresh(node, "made-up"))).isEqualTo("invalid_grant");
    assertThat(error(post(node, "/oauth/token", "grant_type=password&username=a&password=b")))
        .isEqualTo("unsupported_grant_type");
    assertThat(error(post(node, "/oauth/device_authorization", "scope=x")))
        .isEqualTo("invalid_client");
    // Not a form: a JSON OAuth error, nothing else.
    HttpResponse<String> json =
        TestNode.send(
            HttpRequest.newBuilder(node.uri("/oauth/token"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"grant_type\":\"refresh_token\"}"))
                .build());
    assertThat(error(json)).isEqualTo("invalid_request");
    // A body over the endpoint's 4 KiB limit is refused before it is read whole.
    assertThat(post(node, "/oauth/token", "device_code=" + "x".repeat(8192)).statusCode())
        .isEqualTo(413);
  }

  @Test
  void thePageShowsWhatAskedForACodeBeforeApproval_andLookingUpCountsAsEnteringIt()
      throws Exception {
    JsonNode a = authorize(node);
    String userCode = a.get("user_code").asText();
    WebClient web = new WebClient(node).signIn("looker@example.com");

    // The device's link: the request's program, address and times are on the page.
    HttpResponse<String> shown = web.get("/pair?code=" + userCode);
    assertThat(shown.statusCode()).isEqualTo(200);
    assertThat(shown.body())
        .contains("id=\"pairing-request\"")
        .contains("<dd id=\"request-client\"><bdi>presence-device</bdi></dd>")
        .contains("<dd id=\"request-from\"><bdi>127.0.0.1</bdi></dd>")
        .containsPattern("<dd id=\"request-at\">\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC</dd>")
        .contains("id=\"request-expires\"");
    // Without a code, or with a code nothing asked for, there is no request to show.
    assertThat(web.get("/pair").body()).doesNotContain("id=\"pairing-request\"");
    HttpResponse<String> unknown = web.get("/pair?code=BBBB-BBBB");
    assertThat(unknown.statusCode()).isEqualTo(400);
    assertThat(unknown.body())
        .contains("Unknown or expired code")
        .doesNotContain("id=\"pairing-request\"");

    // Looking codes up is entering them: the wrong-code limit (10) holds for links too, so the
    // page cannot be used to find pending codes.
    for (int i = 1; i < 10; i++) {
      web.get("/pair?code=CCCC-CCC" + "BCDFGHJKLM".charAt(i));
    }
    HttpResponse<String> limited = web.get("/pair?code=" + userCode);
    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.body()).doesNotContain("id=\"pairing-request\"");
  }

  @Test
  void expiredCodeAndExpiredIdentity() throws Exception {
    JsonNode a = authorize(shortLived);
    Thread.sleep(3500);
    assertThat(error(poll(shortLived, a.get("device_code").asText()))).isEqualTo("expired_token");

    // Issued tokens last 1 s, the grace 1 s: a session that does not refresh ends with -11.
    JsonNode tokens;
    WebClient web = new WebClient(shortLived).signIn("sam@example.com");
    web.get("/pair");
    JsonNode b = authorize(shortLived);
    web.post(
        "/pair", Map.of("code", b.get("user_code").asText(), "name", "tv", "action", "approve"));
    HttpResponse<String> r = poll(shortLived, b.get("device_code").asText());
    tokens = json(r);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    try (DeviceTestClient d = DeviceTestClient.open(shortLived)) {
      assertThat(d.request(new Connect(tokens.get("access_token").asText(), null, "tv")))
          .isInstanceOf(Connected.class);
      assertThat(d.error()).isEqualTo(ErrorCode.IDENTITY_EXPIRED);
      assertThat(d.awaitClose().code()).isEqualTo(4011);
    }
  }

  @Test
  void pairingRequestsPerAddressAreLimited() throws Exception {
    Map<String, String> s = TestNode.baseSettings(root.resolve("limited"));
    s.put("node-id", "limited-node");
    s.put("device.handshake-rate", "0.01");
    s.put("device.handshake-burst", "2");
    try (TestNode limited = TestNode.start(s, r -> {})) {
      authorize(limited);
      authorize(limited);
      HttpResponse<String> third =
          post(limited, "/oauth/device_authorization", "client_id=presence-device");
      assertThat(third.statusCode()).isEqualTo(429);
      assertThat(json(third).get("error").asText()).isEqualTo("slow_down");
      // The next token comes 100 s (1 / 0.01 per second) after the burst was taken.
      assertThat(third.headers().firstValue("retry-after").map(Long::parseLong))
          .hasValueSatisfying(seconds -> assertThat(seconds).isBetween(90L, 100L));
    }
  }

  @Test
  void jwksPublishesPublicKeysOnly() throws Exception {
    JsonNode keys = json(node.get("/.well-known/jwks.json")).get("keys");
    assertThat(keys.size()).isPositive();
    for (JsonNode k : keys) {
      assertThat(k.get("kty").asText()).isEqualTo("EC");
      assertThat(k.has("kid")).isTrue();
      assertThat(k.has("d")).isFalse();
    }
  }

  @Test
  void terminalDevicePairsKeepsItsRefreshTokenAndRefreshesOnTheLiveSocket() throws Exception {
    Path cliDir = root.resolve("cli");
    java.io.PipedOutputStream typed = new java.io.PipedOutputStream();
    java.io.PipedInputStream in = new java.io.PipedInputStream(typed);
    java.io.StringWriter out = new java.io.StringWriter();
    java.io.StringWriter err = new java.io.StringWriter();
    java.util.concurrent.CompletableFuture<Integer> run =
        java.util.concurrent.CompletableFuture.supplyAsync(
            () ->
                org.presence.gateway.cli.PresenceCli.run(
                    new String[] {
                      "device",
                      "--url",
                      shortLived.server().baseUrl(),
                      "--data-dir",
                      cliDir.toString()
                    },
                    Map.of(),
                    in,
                    new java.io.PrintWriter(out, true),
                    new java.io.PrintWriter(err, true)));
    java.util.regex.Pattern code = java.util.regex.Pattern.compile("enter the code (\\S+)");
    java.util.regex.Matcher m = code.matcher("");
    for (int i = 0; i < 200 && !m.find(); i++) {
      Thread.sleep(50);
      m = code.matcher(out.toString());
    }
    assertThat(out.toString()).contains(shortLived.server().baseUrl() + "/pair");
    WebClient web = new WebClient(shortLived).signIn("terry@example.com");
    web.get("/pair");
    assertThat(
            web.post("/pair", Map.of("code", m.group(1), "name", "terminal", "action", "approve"))
                .statusCode())
        .isEqualTo(303);
    // Tokens last 1 s and the grace is 1 s: the session lives on only by refreshing.
    for (int i = 0; i < 300 && out.toString().split("identity refreshed", -1).length < 4; i++) {
      Thread.sleep(50);
    }
    assertThat(out.toString().split("identity refreshed", -1).length)
        .as(out + "\n" + err)
        .isGreaterThanOrEqualTo(4);
    typed.write("online\nquit\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    typed.close();
    assertThat(run.get(30, java.util.concurrent.TimeUnit.SECONDS)).as(out + "\n" + err).isZero();
    assertThat(out.toString())
        .contains("paired")
        .contains("ok")
        .doesNotContain("closed by the node (40");
    Path stored = cliDir.resolve("paired-device.token");
    assertThat(java.nio.file.Files.getPosixFilePermissions(stored))
        .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
  }

  /**
   * A refresh answered {@code invalid_grant} while the terminal device runs (here: its stored
   * refresh token is one the node does not know) stops the command with exit status 1 and a line
   * saying to pair again, instead of a reconnect with backoff forever.
   */
  @Test
  void terminalDevice_whoseRefreshIsAnsweredInvalidGrant_stopsAndSaysToPairAgain()
      throws Exception {
    Path cliDir = root.resolve("cli-invalid-grant");
    java.io.PipedOutputStream typed = new java.io.PipedOutputStream();
    java.io.PipedInputStream in = new java.io.PipedInputStream(typed);
    java.io.StringWriter out = new java.io.StringWriter();
    java.io.StringWriter err = new java.io.StringWriter();
    java.util.concurrent.CompletableFuture<Integer> run =
        java.util.concurrent.CompletableFuture.supplyAsync(
            () ->
                org.presence.gateway.cli.PresenceCli.run(
                    new String[] {
                      "device",
                      "--url",
                      shortLived.server().baseUrl(),
                      "--data-dir",
                      cliDir.toString()
                    },
                    Map.of(),
                    in,
                    new java.io.PrintWriter(out, true),
                    new java.io.PrintWriter(err, true)));
    try {
      java.util.regex.Pattern code = java.util.regex.Pattern.compile("enter the code (\\S+)");
      java.util.regex.Matcher m = code.matcher("");
      for (int i = 0; i < 200 && !m.find(); i++) {
        Thread.sleep(50);
        m = code.matcher(out.toString());
      }
      WebClient web = new WebClient(shortLived).signIn("uma@example.com");
      web.get("/pair");
      assertThat(
              web.post("/pair", Map.of("code", m.group(1), "name", "terminal", "action", "approve"))
                  .statusCode())
          .isEqualTo(303);
      for (int i = 0; i < 200 && !out.toString().contains("connected to"); i++) {
        Thread.sleep(50);
      }
      assertThat(out.toString()).as(out + "\n" + err).contains("connected to");
      java.nio.file.Files.writeString(
          cliDir.resolve("paired-device.token"), "a-refresh-token-the-node-does-not-know");
      // Tokens last 1 s: the next refresh is answered invalid_grant, and the command stops.
      assertThat(run.get(15, java.util.concurrent.TimeUnit.SECONDS))
          .as(out + "\n" + err)
          .isEqualTo(1);
      assertThat(err.toString())
          .contains("pairing was revoked")
          .contains("run presence device again to pair it again");
    } finally {
      typed.close();
    }
  }

  /**
   * RFC 6749 §3.1: a parameter MUST NOT be sent twice; and a form must be UTF-8. Both are {@code
   * invalid_request} (400, RFC 6749 §5.2 and RFC 8628 §3.2), on both OAuth endpoints, before any
   * other check (so they cost no pairing request).
   */
  @Test
  void oauthForms_withAParameterTwiceOrInvalidUtf8_areInvalidRequest() throws Exception {
    for (String form :
        List.of(
            "client_id=presence-device&client_id=other",
            "client_id=presence-device&client_id=presence-device",
            "client_id=presence-device&client%5Fid=x",
            "client_id=presence-device%C0%AF",
            "client_id=presence-device%ED%A0%80",
            "client_id=presence-device%FF",
            "client_id=%zz")) {
      HttpResponse<String> r = post(node, "/oauth/device_authorization", form);
      assertThat(error(r)).as(form).isEqualTo("invalid_request");
      assertThat(json(r).get("error_description").asText()).as(form).matches("[ -~]+");
    }
    HttpResponse<String> twice =
        post(node, "/oauth/device_authorization", "client_id=a&client_id=b");
    assertThat(json(twice).get("error_description").asText()).contains("client_id");
    HttpResponse<String> raw =
        post(node, "/oauth/device_authorization", with("client_id=presence-device", "c0 bc", ""));
    assertThat(error(raw)).isEqualTo("invalid_request");
    assertThat(json(raw).get("error_description").asText()).contains("UTF-8");
    assertThat(
            error(
                post(
                    node,
                    "/oauth/token",
                    "grant_type=refresh_token&refresh_token=a&refresh_token=b")))
        .isEqualTo("invalid_request");
    assertThat(
            error(
                post(
                    node,
                    "/oauth/token",
                    "grant_type=refresh_token&grant_type="
                        + URLEncoder.encode(
                            PairingEndpoints.DEVICE_CODE_GRANT, StandardCharsets.UTF_8))))
        .isEqualTo("invalid_request");
    assertThat(
            error(
                post(
                    node,
                    "/oauth/token",
                    with("grant_type=refresh_token&refresh_token=", "ed a0 80", ""))))
        .isEqualTo("invalid_request");
    // A missing code is a malformed request, not an unknown grant (RFC 6749 section 5.2).
    for (String form :
        List.of(
            "grant_type="
                + URLEncoder.encode(PairingEndpoints.DEVICE_CODE_GRANT, StandardCharsets.UTF_8),
            "grant_type="
                + URLEncoder.encode(PairingEndpoints.DEVICE_CODE_GRANT, StandardCharsets.UTF_8)
                + "&device_code=",
            "grant_type=refresh_token")) {
      HttpResponse<String> r = post(node, "/oauth/token", form);
      assertThat(error(r)).as(form).isEqualTo("invalid_request");
      assertThat(json(r).get("error_description").asText()).as(form).endsWith("is required");
    }
    assertThat(
            error(
                post(
                    node,
                    "/oauth/token",
                    "grant_type=refresh_token&client_id=presence-device&refresh_token=never-issued")))
        .isEqualTo("invalid_grant");
    // Another media type that starts like a form's, or a form in another charset, is not a form.
    for (String type :
        List.of(
            "application/x-www-form-urlencodedx",
            "application/x-www-form-urlencoded; charset=iso-8859-1")) {
      HttpResponse<String> r =
          TestNode.send(
              HttpRequest.newBuilder(node.uri("/oauth/device_authorization"))
                  .header("Content-Type", type)
                  .POST(HttpRequest.BodyPublishers.ofString("client_id=presence-device"))
                  .build());
      assertThat(error(r)).as(type).isEqualTo("invalid_request");
      assertThat(json(r).get("error_description").asText()).as(type).contains("must be");
    }
    // A well-formed form in UTF-8, raw or percent-encoded, is served.
    assertThat(post(node, "/oauth/device_authorization", "client_id=pr%C3%A9sence").statusCode())
        .isEqualTo(200);
    assertThat(
            TestNode.send(
                    HttpRequest.newBuilder(node.uri("/oauth/device_authorization"))
                        .header("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
                        .POST(HttpRequest.BodyPublishers.ofString("client_id=presence-device"))
                        .build())
                .statusCode())
        .isEqualTo(200);
    assertThat(
            post(
                    node,
                    "/oauth/device_authorization",
                    "client_id=présence".getBytes(StandardCharsets.UTF_8))
                .statusCode())
        .isEqualTo(200);
  }

  /**
   * A client_id is one line of visible text like every name that is stored (no NUL, which
   * PostgreSQL refuses, no control or invisible format character, no unpaired surrogate): anything
   * else is {@code invalid_client} with an ASCII description naming the character.
   */
  @Test
  void clientId_withControlOrInvisibleCharacters_isInvalidClient() throws Exception {
    for (String form :
        List.of(
            "client_id=a%00b",
            "client_id=probe%01%3Cb%3E",
            "client_id=%E2%80%AEdevice",
            "client_id=dev%E2%80%8Bice",
            "client_id=two%0Alines",
            "client_id=" + "x".repeat(101),
            "client_id=%20%20",
            "client_id=")) {
      HttpResponse<String> r = post(node, "/oauth/device_authorization", form);
      assertThat(error(r)).as(form).isEqualTo("invalid_client");
      assertThat(json(r).get("error_description").asText()).as(form).matches("[ -~]+");
    }
    assertThat(
            json(post(node, "/oauth/device_authorization", "client_id=a%00b"))
                .get("error_description")
                .asText())
        .isEqualTo("client_id: control character U+0000");
    assertThat(
            post(node, "/oauth/device_authorization", "client_id=" + "x".repeat(100)).statusCode())
        .isEqualTo(200);
  }

  /**
   * A device's name is one line of visible text: approving with a control or invisible character in
   * it is refused on the page (400, nothing decided), and the same code can then be approved.
   */
  @Test
  void deviceName_withControlOrInvisibleCharacters_isRefusedOnThePage() throws Exception {
    JsonNode a = authorize(node);
    String code = a.get("user_code").asText();
    WebClient web = new WebClient(node).signIn("namer@example.com");
    web.get("/pair");
    for (String name :
        List.of("dev\u0000ice", "\u202edevice", "dev\u0007ice", "two\nlines", "dev\u200bice")) {
      HttpResponse<String> r =
          web.post("/pair", Map.of("code", code, "name", name, "action", "approve"));
      assertThat(r.statusCode()).as(name).isEqualTo(400);
      assertThat(r.body())
          .as(name)
          .contains("The device name contains an invisible control character")
          .doesNotContain(name);
    }
    HttpResponse<String> approved =
        web.post("/pair", Map.of("code", code, "name", "Work \ud83d\udcbb", "action", "approve"));
    // POST-redirect-GET: a reload of the outcome sends nothing again.
    assertThat(approved.statusCode()).isEqualTo(303);
    assertThat(approved.headers().firstValue("Location")).hasValue("/pair?done=approved");
    String outcome = web.follow(approved).body();
    assertThat(outcome)
        .contains("Approved: the device is pairing")
        .contains("appears here once it\n  finishes signing in")
        .doesNotContain("No paired");
  }

  /** Pairs a device as {@code clientId} for {@code email} on {@link #node}; the token answer. */
  private static JsonNode pairAs(String clientId, String email) throws Exception {
    HttpResponse<String> r =
        post(node, "/oauth/device_authorization", WebClient.form(Map.of("client_id", clientId)));
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode a = json(r);
    WebClient web = new WebClient(node).signIn(email);
    web.get("/pair");
    assertThat(
            web.post(
                    "/pair",
                    Map.of("code", a.get("user_code").asText(), "name", "dev", "action", "approve"))
                .statusCode())
        .isEqualTo(303);
    HttpResponse<String> tokens = poll(node, a.get("device_code").asText(), clientId);
    assertThat(tokens.statusCode()).as(tokens.body()).isEqualTo(200);
    return json(tokens);
  }

  /**
   * RFC 8628 §3.4, RFC 6749 §6: a device_code is redeemed only by the client_id it was issued to,
   * and a refresh token refreshes only for the client_id its device was paired with; a token
   * request without client_id is {@code invalid_request}. A wrong client_id changes nothing.
   */
  @Test
  void deviceCodeAndRefreshToken_areBoundToTheirClientId() throws Exception {
    HttpResponse<String> r =
        post(node, "/oauth/device_authorization", WebClient.form(Map.of("client_id", "clientA")));
    JsonNode a = json(r);
    String deviceCode = a.get("device_code").asText();
    WebClient web = new WebClient(node).signIn("bound@example.com");
    web.get("/pair");
    web.post(
        "/pair", Map.of("code", a.get("user_code").asText(), "name", "bound", "action", "approve"));
    HttpResponse<String> other = poll(node, deviceCode, "clientB");
    assertThat(error(other)).isEqualTo("invalid_grant");
    assertThat(json(other).get("error_description").asText()).contains("another client_id");
    HttpResponse<String> none = poll(node, deviceCode, null);
    assertThat(error(none)).isEqualTo("invalid_request");
    assertThat(json(none).get("error_description").asText()).isEqualTo("client_id is required");
    HttpResponse<String> tokens = poll(node, deviceCode, "clientA");
    assertThat(tokens.statusCode()).as(tokens.body()).isEqualTo(200);
    String refreshToken = json(tokens).get("refresh_token").asText();

    HttpResponse<String> otherRefresh = refresh(node, refreshToken, "clientB");
    assertThat(error(otherRefresh)).isEqualTo("invalid_grant");
    assertThat(json(otherRefresh).get("error_description").asText()).contains("another client_id");
    assertThat(error(refresh(node, refreshToken, "presence-device"))).isEqualTo("invalid_grant");
    assertThat(error(refresh(node, refreshToken, null))).isEqualTo("invalid_request");
    HttpResponse<String> own = refresh(node, refreshToken, "clientA");
    assertThat(own.statusCode()).as(own.body()).isEqualTo(200);
  }

  /**
   * RFC 9700 §4.14: every refresh answers a new refresh token; the one before stays accepted only
   * until the new one is used (a lost answer can be retried), older ones are refused.
   */
  @Test
  void refreshTokens_rotate_andTheOldOneStopsWorking() throws Exception {
    String t1 = pairAs("presence-device", "rotate@example.com").get("refresh_token").asText();
    JsonNode second = json(refresh(node, t1));
    String t2 = second.get("refresh_token").asText();
    assertThat(t2).isNotEqualTo(t1);
    assertThat(second.get("access_token").asText()).isNotEmpty();
    // The answer was "lost": t1 again, before t2 was ever used, still works (and t2 is dropped).
    HttpResponse<String> retried = refresh(node, t1);
    assertThat(retried.statusCode()).as(retried.body()).isEqualTo(200);
    String t2b = json(retried).get("refresh_token").asText();
    assertThat(t2b).isNotIn(t1, t2);
    // The new token used: the one before is refused.
    String t3 = json(refresh(node, t2b)).get("refresh_token").asText();
    assertThat(t3).isNotIn(t1, t2, t2b);
    assertThat(error(refresh(node, t1))).isEqualTo("invalid_grant");
  }

  /**
   * A device's history of rotated-out tokens is bounded: one older than its newest {@code
   * ROTATED_MAX} is merely unknown (refused, the device kept); a newer one is still reuse.
   */
  @Test
  void rotatedOutTokens_beyondTheNewestKept_areUnknown_notReuse() throws Exception {
    List<String> tokens = new ArrayList<>();
    tokens.add(pairAs("presence-device", "history@example.com").get("refresh_token").asText());
    for (int i = 0; i < PairingService.ROTATED_MAX + 4; i++) {
      tokens.add(json(refresh(node, tokens.get(tokens.size() - 1))).get("refresh_token").asText());
    }
    HttpResponse<String> forgotten = refresh(node, tokens.get(0));
    assertThat(error(forgotten)).isEqualTo("invalid_grant");
    assertThat(json(forgotten).get("error_description").asText())
        .isEqualTo("unknown or revoked refresh token");
    String current = tokens.get(tokens.size() - 1);
    HttpResponse<String> stillPaired = refresh(node, current);
    assertThat(stillPaired.statusCode()).as(stillPaired.body()).isEqualTo(200);
    // One of the newest rotated out: reuse, the device is revoked.
    HttpResponse<String> reused = refresh(node, tokens.get(tokens.size() - 4));
    assertThat(json(reused).get("error_description").asText()).contains("used before");
    assertThat(error(refresh(node, json(stillPaired).get("refresh_token").asText())))
        .isEqualTo("invalid_grant");
  }

  /**
   * A rotated-out refresh token presented again is reuse: the device is revoked as from the
   * settings page, its current refresh token refused, its open session ended.
   */
  @Test
  void reusingARotatedOutRefreshToken_revokesTheDevice() throws Exception {
    JsonNode paired = pairAs("presence-device", "reuse@example.com");
    String t1 = paired.get("refresh_token").asText();
    try (DeviceTestClient d = DeviceTestClient.open(node)) {
      assertThat(d.request(new Connect(paired.get("access_token").asText(), null, "reuse")))
          .isInstanceOf(Connected.class);
      String t2 = json(refresh(node, t1)).get("refresh_token").asText();
      String t3 = json(refresh(node, t2)).get("refresh_token").asText();
      assertThat(t3).isNotEqualTo(t2);
      // t1 was rotated out when t2 was used: presenting it again revokes the device.
      HttpResponse<String> reused = refresh(node, t1);
      assertThat(error(reused)).isEqualTo("invalid_grant");
      assertThat(json(reused).get("error_description").asText()).contains("revoked");
      assertThat(d.error()).isEqualTo(ErrorCode.DEVICE_REVOKED);
      assertThat(d.awaitClose().code()).isEqualTo(4012);
      assertThat(error(refresh(node, t3))).isEqualTo("invalid_grant");
    }
    assertThat(new WebClient(node).signIn("reuse@example.com").get("/settings").body())
        .contains("Revoked");
  }

  /** {@code before}, the bytes of {@code hex}, then {@code after}. */
  /**
   * A body over the OAuth endpoints' limit (a 60 KB device code) keeps its 413 but is answered with
   * an OAuth error body (RFC 6749 §5.2: {@code invalid_request}), not the Presence error body; and
   * so is a request the router refuses before routing (a query parameter given twice). A refusal
   * elsewhere keeps the Presence body.
   */
  @Test
  void oauthRequests_refusedBeforeTheirEndpoint_getAnOAuthErrorBody() throws Exception {
    for (String path : List.of("/oauth/token", "/oauth/device_authorization")) {
      String body =
          "grant_type="
              + URLEncoder.encode(PairingEndpoints.DEVICE_CODE_GRANT, StandardCharsets.UTF_8)
              + "&device_code="
              + "a".repeat(60_000);
      org.presence.gateway.testing.RawHttp.Ending end =
          org.presence.gateway.testing.RawHttp.untilTheEnd(
              node.port(),
              ("POST "
                      + path
                      + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
                      + "\r\nContent-Length: "
                      + body.length()
                      + "\r\n\r\n"
                      + body)
                  .getBytes(StandardCharsets.US_ASCII),
              10_000);
      String answer = end.answers();
      assertThat(answer).as(path).startsWith("HTTP/1.1 413").containsIgnoringCase("no-store");
      JsonNode error = JSON.readTree(answer.substring(answer.indexOf("\r\n\r\n") + 4));
      assertThat(error.get("error").asText()).as(path).isEqualTo("invalid_request");
      assertThat(error.get("error_description").asText()).as(path).contains("4096 bytes");
      assertThat(error.has("errno")).as(path).isFalse();
    }
    HttpResponse<String> twice = post(node, "/oauth/token?a=1&a=2", "grant_type=refresh_token");
    assertThat(error(twice)).isEqualTo("invalid_request");
    assertThat(json(twice).get("error_description").asText()).contains("given twice");
    assertThat(post(node, "/pair?a=1&a=2", "x=1").body()).contains("\"errno\":");
  }

  private static byte[] with(String before, String hex, String after) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    out.writeBytes(before.getBytes(StandardCharsets.UTF_8));
    out.writeBytes(java.util.HexFormat.of().parseHex(hex.replace(" ", "")));
    out.writeBytes(after.getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }
}
