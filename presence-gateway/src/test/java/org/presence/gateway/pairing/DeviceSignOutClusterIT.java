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
import org.presence.protocol.device.DeviceMessage;
import org.presence.protocol.device.DeviceMessage.Connect;
import org.presence.protocol.device.DeviceMessage.Connected;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.PresenceStatus;

/**
 * Ending device sessions across two in-JVM nodes sharing PostgreSQL and Redis: "Sign out all
 * devices" on node A's {@code /settings} ends every device session of the user held on node B (the
 * paired device's and one opened with another token), and a session on node B whose token (signed
 * on node A with a 1 s lifetime) expires without refresh ends with {@code IDENTITY_EXPIRED} after
 * node B's 1 s grace.
 */
class DeviceSignOutClusterIT {
  @TempDir static Path root;
  static TestCluster cluster;
  static TestNode a;
  static TestNode b;

  @BeforeAll
  static void start() {
    cluster =
        TestCluster.create(
            DeviceSignOutClusterIT.class,
            root,
            "signout",
            Map.of(
                "identity.dev-signing", "true",
                "web.dev-sign-in", "true",
                "pairing.poll-interval", "1s"));
    // Tokens collected from A last 2 s; sessions on B end 1 s after their token expired.
    a = cluster.start(Map.of("pairing.token-lifetime", "2s"));
    b = cluster.start(Map.of("device.identity-grace", "1s"));
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close(); // b, a, then the schema
    }
  }

  /** Pairs a device named {@code name} for {@code email}, collecting its tokens from {@code n}. */
  private static JsonNode pairOn(TestNode n, String email, String name) throws Exception {
    JsonNode code = PairingFlowTest.authorize(n);
    WebClient web = new WebClient(n).signIn(email);
    web.get("/pair");
    HttpResponse<String> approved =
        web.post(
            "/pair",
            Map.of("code", code.get("user_code").asText(), "name", name, "action", "approve"));
    assertThat(approved.statusCode()).isEqualTo(303);
    HttpResponse<String> tokens = PairingFlowTest.poll(n, code.get("device_code").asText());
    assertThat(tokens.statusCode()).as(tokens.body()).isEqualTo(200);
    return PairingFlowTest.json(tokens);
  }

  @Test
  void signOutAllDevicesOnOneNodeEndsTheUsersDeviceSessionsOnTheOther() throws Exception {
    String kim = "kim@example.com";
    JsonNode tokens = pairOn(b, kim, "desk");
    String refreshToken = tokens.get("refresh_token").asText();

    try (DeviceTestClient paired = DeviceTestClient.open(b);
        DeviceTestClient plain = DeviceTestClient.connected(b, b.token(kim), null, "phone");
        DeviceTestClient other =
            DeviceTestClient.connected(b, b.token("lee@example.com"), null, "phone")) {
      assertThat(paired.request(new Connect(tokens.get("access_token").asText(), null, "desk")))
          .isInstanceOf(Connected.class);

      WebClient onA = new WebClient(a).signIn(kim);
      String page = onA.get("/settings").body();
      assertThat(page).contains("desk").contains("/settings/devices/sign-out-all");
      // Without the form token nothing happens.
      HttpResponse<String> forged =
          onA.postRaw("/settings/devices/sign-out-all", WebClient.form(Map.of("csrf", "x")));
      assertThat(forged.statusCode()).isEqualTo(403);
      assertThat(plain.status(PresenceStatus.ONLINE, null)).isEqualTo(DeviceMessage.Ack.INSTANCE);

      HttpResponse<String> done = onA.post("/settings/devices/sign-out-all", Map.of());
      assertThat(done.statusCode()).isEqualTo(303);
      assertThat(done.headers().firstValue("Location").orElseThrow())
          .endsWith("/settings?done=devices-signed-out");
      assertThat(onA.follow(done).body()).contains("Signed out all devices");

      // The session opened with a development token ends as the operator's disconnect does; the
      // paired device's ends as revoked or as disconnected, whichever message reaches B first.
      assertThat(plain.awaitClose().code()).isEqualTo(ErrorCode.SESSION_ABORTED.closeCode());
      assertThat(paired.awaitClose().code())
          .isIn(ErrorCode.DEVICE_REVOKED.closeCode(), ErrorCode.SESSION_ABORTED.closeCode());
      // Another user's session stays.
      assertThat(other.status(PresenceStatus.ONLINE, null)).isEqualTo(DeviceMessage.Ack.INSTANCE);
      assertThat(other.isClosed()).isFalse();
    }
    // The paired device is revoked: its refresh token is refused on either node.
    assertThat(PairingFlowTest.error(PairingFlowTest.refresh(a, refreshToken)))
        .isEqualTo("invalid_grant");
    assertThat(new WebClient(b).signIn(kim).get("/settings").body()).contains("Revoked");
  }

  @Test
  void aSessionOnTheOtherNodeWhoseTokenExpiresEndsAfterTheGrace() throws Exception {
    JsonNode tokens = pairOn(a, "max@example.com", "tv");
    assertThat(tokens.get("expires_in").asLong()).isEqualTo(2);
    try (DeviceTestClient d = DeviceTestClient.open(b)) {
      assertThat(d.request(new Connect(tokens.get("access_token").asText(), null, "tv")))
          .isInstanceOf(Connected.class);
      assertThat(d.error()).isEqualTo(ErrorCode.IDENTITY_EXPIRED);
      assertThat(d.awaitClose().code()).isEqualTo(ErrorCode.IDENTITY_EXPIRED.closeCode());
    }
  }
}
