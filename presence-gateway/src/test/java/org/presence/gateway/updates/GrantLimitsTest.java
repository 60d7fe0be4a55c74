package org.presence.gateway.updates;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.UpdateClient;
import org.presence.gateway.testing.WebClient;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.PresenceStatus;

/**
 * Issue 12 item 5, over HTTP and the update channel: a user's grants are capped per application and
 * in all, grant requests are rate-limited per user, and one presence change costs an application
 * one update per PUID the user really granted it.
 */
class GrantLimitsTest {
  @TempDir Path dataDir;
  private TestNode node;
  private final UpdatesFixture fx = new UpdatesFixture();

  @AfterEach
  void stop() {
    fx.close();
    if (node != null) {
      node.close();
    }
  }

  private void start(Map<String, String> grants) {
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.putAll(UpdatesFixture.settings());
    s.putAll(grants);
    node = TestNode.start(s, r -> {});
  }

  private static HttpResponse<String> grant(ApiClient user, long app, String as) {
    return user.post("/api/grants", "{\"app_id\":" + app + ",\"id\":\"" + as + "\"}");
  }

  private static void refused(HttpResponse<String> r, int status, ErrorCode code) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertThat(UpdatesFixture.json(r).get("result").asBoolean()).isFalse();
    assertThat(UpdatesFixture.json(r).get("errno").asInt()).as(r.body()).isEqualTo(code.errno());
  }

  @Test
  void grants_areCappedPerAppAndPerUser_andOneChangeCostsOneUpdatePerGrantedPuid() {
    start(
        Map.of(
            "grants.max-per-app", "3",
            "grants.max-per-user", "5",
            "grants.rate", "1000",
            "grants.burst", "1000"));
    UpdatesFixture.App beer = fx.activeApp(node, "BeerChat");
    UpdatesFixture.App wine = fx.activeApp(node, "WineChat");
    String marge = fx.email("marge");
    ApiClient api = ApiClient.forEmail(node, marge);

    Set<String> beerPuids = new LinkedHashSet<>();
    for (int i = 1; i <= 3; i++) {
      HttpResponse<String> r = grant(api, beer.id(), "Fred" + i);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      beerPuids.add(UpdatesFixture.json(r).get("puid").asText());
    }
    // The amplification of the issue: many user strings for one application. All refused.
    for (int i = 4; i <= 40; i++) {
      refused(grant(api, beer.id(), "Fred" + i), 409, ErrorCode.TOO_MANY_GRANTS);
    }
    // An existing grant is returned as before: it costs no room.
    HttpResponse<String> again = grant(api, beer.id(), "Fred1");
    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(beerPuids).contains(UpdatesFixture.json(again).get("puid").asText());
    // The consent page's Allow is held to the same cap.
    WebClient web = new WebClient(node).signIn(marge);
    String redirect =
        "http://"
            + UpdatesFixture.json(beer.dev().get("/api/apps/" + beer.id())).get("domain").asText()
            + "/back";
    web.get(
        "/"
            + beer.id()
            + "/grant?redirect="
            + URLEncoder.encode(redirect, StandardCharsets.UTF_8)
            + "&id=Fred99");
    HttpResponse<String> allow =
        web.post(
            "/" + beer.id() + "/grant",
            Map.of("redirect", redirect, "id", "Fred99", "answer", "allow"));
    assertThat(allow.statusCode()).as(allow.body()).isEqualTo(409);
    // The error page keeps the reason behind its technical details (and shows no errno).
    assertThat(allow.body()).contains(ErrorCode.TOO_MANY_GRANTS.reason()).doesNotContain("errno");

    // Per user in all: 3 + 2 = 5.
    assertThat(grant(api, wine.id(), "Fred1").statusCode()).isEqualTo(200);
    assertThat(grant(api, wine.id(), "Fred2").statusCode()).isEqualTo(200);
    refused(grant(api, wine.id(), "Fred3"), 409, ErrorCode.TOO_MANY_GRANTS);
    assertThat(UpdatesFixture.json(api.get("/api/grants")).get("grants")).hasSize(5);
    // Another user has their own room.
    assertThat(grant(ApiClient.forEmail(node, fx.email("homer")), beer.id(), "Homer").statusCode())
        .isEqualTo(200);

    // One change of Marge's presence: BeerChat gets exactly one update per PUID she granted it.
    try (UpdateClient updates = UpdateClient.connected(node, beer.id(), beer.key(), -1)) {
      updates.snapshot();
      DeviceTestClient phone = UpdatesFixture.device(node, marge, "phone");
      UpdatesFixture.status(phone, PresenceStatus.ONLINE, "hi");
      updates.updates(beerPuids.size());
      updates.drain(Duration.ofMillis(500));
      UpdatesFixture.status(phone, PresenceStatus.AWAY, "brb");
      List<UpdateClient.Item> one = updates.updates(beerPuids.size());
      one.addAll(updates.drain(Duration.ofMillis(500)));
      assertThat(one).hasSize(beerPuids.size());
      assertThat(one)
          .extracting(UpdateClient.Item::puid)
          .containsExactlyInAnyOrderElementsOf(beerPuids);
      assertThat(one).extracting(UpdateClient.Item::status).containsOnly("away");
      phone.close();
    }

    // Revoking one makes room again.
    String first = beerPuids.iterator().next();
    assertThat(api.delete("/api/grants/" + first).statusCode()).isEqualTo(200);
    assertThat(grant(api, wine.id(), "Fred3").statusCode()).isEqualTo(200);
  }

  @Test
  void grantRequests_areRateLimitedPerUser_with429RetryAfterAndErrno() {
    start(Map.of("grants.rate", "0.001", "grants.burst", "3"));
    UpdatesFixture.App beer = fx.activeApp(node, "BeerChat");
    ApiClient marge = ApiClient.forEmail(node, fx.email("marge"));
    for (int i = 1; i <= 3; i++) {
      assertThat(grant(marge, beer.id(), "Fred" + (i % 2)).statusCode()).isEqualTo(200);
    }
    for (int i = 0; i < 20; i++) {
      HttpResponse<String> limited = grant(marge, beer.id(), "Fred" + i);
      refused(limited, 429, ErrorCode.GRANT_RATE_LIMITED);
      assertThat(Long.parseLong(limited.headers().firstValue("Retry-After").orElseThrow()))
          .isPositive();
    }
    assertThat(UpdatesFixture.json(marge.get("/api/grants")).get("grants")).hasSize(2);
    // The consent page's Allow shares the bucket: its error page is 429 with the same Retry-After.
    WebClient web = new WebClient(node).signIn(fx.email("marge"));
    String redirect =
        "http://"
            + UpdatesFixture.json(beer.dev().get("/api/apps/" + beer.id())).get("domain").asText()
            + "/back";
    web.get(
        "/"
            + beer.id()
            + "/grant?redirect="
            + URLEncoder.encode(redirect, StandardCharsets.UTF_8)
            + "&id=Fred7");
    for (String path : List.of("/" + beer.id() + "/grant", "/" + beer.id())) {
      HttpResponse<String> allow =
          web.post(path, Map.of("redirect", redirect, "id", "Fred7", "answer", "allow"));
      assertThat(allow.statusCode()).as(allow.body()).isEqualTo(429);
      assertThat(allow.body()).contains(ErrorCode.GRANT_RATE_LIMITED.reason());
      assertThat(Long.parseLong(allow.headers().firstValue("Retry-After").orElseThrow()))
          .isPositive();
    }
    // The limit is the user's: another user grants at once.
    assertThat(grant(ApiClient.forEmail(node, fx.email("homer")), beer.id(), "Homer").statusCode())
        .isEqualTo(200);
  }
}
