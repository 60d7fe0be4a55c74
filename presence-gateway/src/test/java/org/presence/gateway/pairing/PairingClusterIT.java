package org.presence.gateway.pairing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.testing.DeviceTestClient;
import org.presence.gateway.testing.TestCluster;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WebClient;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.device.DeviceMessage.Connected;
import org.presence.protocol.error.ErrorCode;

/**
 * Pairing across two in-JVM nodes sharing PostgreSQL and Redis: the device asks node A for a code,
 * the user approves it on node B, the device collects its tokens from A and connects to B with the
 * identity token A signed (the signing keys are shared through the database); revoking the device
 * on A ends its session on B (the invalidation travels over the bus).
 */
class PairingClusterIT {
  @TempDir static Path root;
  static TestCluster cluster;
  static TestNode a;
  static TestNode b;

  @BeforeAll
  static void start() {
    cluster =
        TestCluster.create(
            PairingClusterIT.class,
            root,
            "pair",
            Map.of(
                "identity.dev-signing", "true",
                "web.dev-sign-in", "true",
                "pairing.poll-interval", "1s"));
    a = cluster.start(Map.of());
    b = cluster.start(Map.of());
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close(); // b, a, then the schema
    }
  }

  @Test
  void pairedOnOneNodeConnectsToTheOtherAndRevocationEndsItThere() throws Exception {
    // Both nodes publish the same key set.
    assertThat(PairingFlowTest.json(a.get("/.well-known/jwks.json")))
        .isEqualTo(PairingFlowTest.json(b.get("/.well-known/jwks.json")));

    JsonNode code = PairingFlowTest.authorize(a);
    WebClient web = new WebClient(b).signIn("kim@example.com");
    web.get("/pair");
    HttpResponse<String> approved =
        web.post(
            "/pair",
            Map.of("code", code.get("user_code").asText(), "name", "desk", "action", "approve"));
    assertThat(approved.statusCode()).isEqualTo(303);
    HttpResponse<String> tokens = PairingFlowTest.poll(a, code.get("device_code").asText());
    assertThat(tokens.statusCode()).as(tokens.body()).isEqualTo(200);
    String identityToken = PairingFlowTest.json(tokens).get("access_token").asText();
    String refreshToken = PairingFlowTest.json(tokens).get("refresh_token").asText();

    try (DeviceTestClient d = DeviceTestClient.open(b)) {
      assertThat(d.request(new Connect(identityToken, null, "desk"))).isInstanceOf(Connected.class);
      // A refresh token works on either node.
      assertThat(PairingFlowTest.refresh(b, refreshToken).statusCode()).isEqualTo(200);

      WebClient onA = new WebClient(a).signIn("kim@example.com");
      String page = onA.get("/pair").body();
      assertThat(page).contains("desk");
      java.util.regex.Matcher m =
          java.util.regex.Pattern.compile("/pair/devices/([0-9a-f-]{36})/revoke").matcher(page);
      assertThat(m.find()).isTrue();
      assertThat(onA.post("/pair/devices/" + m.group(1) + "/revoke", Map.of()).statusCode())
          .isEqualTo(303);

      assertThat(d.error()).isEqualTo(ErrorCode.DEVICE_REVOKED);
      assertThat(d.awaitClose().code()).isEqualTo(4012);
    }
    assertThat(PairingFlowTest.error(PairingFlowTest.refresh(b, refreshToken)))
        .isEqualTo("invalid_grant");
  }

  /**
   * On PostgreSQL and across nodes: refresh tokens rotate and are bound to their client_id, and an
   * old one presented on one node revokes the device, ending its session on the other.
   */
  @Test
  void reusingARotatedOutRefreshTokenOnOneNodeEndsTheSessionOnTheOther() throws Exception {
    JsonNode code = PairingFlowTest.authorize(a);
    WebClient web = new WebClient(b).signIn("lee@example.com");
    web.get("/pair");
    assertThat(
            web.post(
                    "/pair",
                    Map.of(
                        "code",
                        code.get("user_code").asText(),
                        "name",
                        "desk",
                        "action",
                        "approve"))
                .statusCode())
        .isEqualTo(303);
    String deviceCode = code.get("device_code").asText();
    assertThat(PairingFlowTest.error(PairingFlowTest.poll(a, deviceCode, "other-client")))
        .isEqualTo("invalid_grant");
    HttpResponse<String> tokens = PairingFlowTest.poll(a, deviceCode);
    assertThat(tokens.statusCode()).as(tokens.body()).isEqualTo(200);
    String t1 = PairingFlowTest.json(tokens).get("refresh_token").asText();
    String t3;
    try (DeviceTestClient d = DeviceTestClient.open(b)) {
      assertThat(
              d.request(
                  new Connect(
                      PairingFlowTest.json(tokens).get("access_token").asText(), null, "desk")))
          .isInstanceOf(Connected.class);
      assertThat(PairingFlowTest.error(PairingFlowTest.refresh(b, t1, "other-client")))
          .isEqualTo("invalid_grant");
      String t2 =
          PairingFlowTest.json(PairingFlowTest.refresh(b, t1)).get("refresh_token").asText();
      // A lost answer: t1 again before t2 is used.
      String t2b =
          PairingFlowTest.json(PairingFlowTest.refresh(a, t1)).get("refresh_token").asText();
      t3 = PairingFlowTest.json(PairingFlowTest.refresh(a, t2b)).get("refresh_token").asText();
      assertThat(t3).isNotIn(t1, t2, t2b);
      // t2 was dropped when t1 was used again: reuse.
      assertThat(PairingFlowTest.error(PairingFlowTest.refresh(a, t2))).isEqualTo("invalid_grant");
      assertThat(d.error()).isEqualTo(ErrorCode.DEVICE_REVOKED);
      assertThat(d.awaitClose().code()).isEqualTo(4012);
    }
    assertThat(PairingFlowTest.error(PairingFlowTest.refresh(b, t3))).isEqualTo("invalid_grant");
  }
}
