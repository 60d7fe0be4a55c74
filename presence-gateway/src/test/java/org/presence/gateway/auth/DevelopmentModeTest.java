package org.presence.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.gateway.identity.DevIdentity;
import org.presence.gateway.testing.ApiClient;
import org.presence.gateway.testing.DomainStub;
import org.presence.gateway.testing.TestNode;
import org.presence.gateway.testing.WebClient;
import org.presence.protocol.error.ErrorCode;

/**
 * Issue 12 item 6, over HTTP: an embedded node that trusts an identity provider is not in
 * development mode, so nobody can become {@code dev:<any email>} through the passwordless sign-in
 * or a development token, and a developer's domain on loopback is refused rather than fetched.
 */
class DevelopmentModeTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dataDir;
  @TempDir Path elsewhere;
  private TestNode node;
  private DomainStub site;

  @AfterEach
  void stop() {
    if (site != null) {
      site.close();
    }
    if (node != null) {
      node.close();
    }
  }

  @Test
  void embeddedNodeWithAnIdentityProvider_offersNoDevelopmentSignInAndNoLoopbackFetches()
      throws Exception {
    ECKey provider = new ECKeyGenerator(Curve.P_256).keyID("provider").generate();
    Path jwks = elsewhere.resolve("provider.json");
    Files.writeString(jwks, new JWKSet(provider.toPublicJWK()).toString());
    Map<String, String> s = TestNode.baseSettings(dataDir);
    s.put("identity.jwks-file", jwks.toString());
    node = TestNode.start(s, r -> {});
    assertThat(node.server().config().embedded()).isTrue();

    WebClient web = new WebClient(node);
    HttpResponse<String> page = web.get("/signin");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body()).doesNotContain("id=\"dev-sign-in\"").contains("id=\"token-sign-in\"");
    HttpResponse<String> tried =
        web.post("/signin", Map.of("email", "mallory@example.com", "next", "/"));
    assertThat(tried.statusCode()).as(tried.body()).isEqualTo(401);
    assertThat(tried.headers().allValues("Set-Cookie"))
        .noneMatch(c -> c.startsWith("presence_session="));
    assertThat(Files.exists(dataDir.resolve("dev-identity.jwk"))).isFalse();

    // A development token from any development key is not trusted either.
    String devToken =
        DevIdentity.loadOrCreate(elsewhere)
            .mint("mallory@example.com", Duration.ofHours(1), "presence");
    HttpResponse<String> asDev = new ApiClient(node, devToken).get("/api/apps");
    assertThat(asDev.statusCode()).isEqualTo(401);
    assertThat(JSON.readTree(asDev.body()).get("errno").asInt())
        .isEqualTo(ErrorCode.INVALID_ASSERTION.errno());

    // A provider user may register an application, but its domain proof never reaches loopback.
    ApiClient dev = new ApiClient(node, sign(provider, "dev-1", "dev@example.com"));
    site = DomainStub.start();
    HttpResponse<String> created =
        dev.post(
            "/api/apps",
            "{\"name\":\"Scanner\",\"domain\":\"" + site.domain() + "\",\"description\":\"\"}");
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    JsonNode app = JSON.readTree(created.body());
    site.serveKey(app.get("verification_key").asText());
    HttpResponse<String> verify = dev.post("/api/apps/" + app.get("id").asLong() + "/verify", null);
    assertThat(verify.statusCode()).as(verify.body()).isEqualTo(422);
    assertThat(JSON.readTree(verify.body()).get("errno").asInt())
        .isEqualTo(ErrorCode.ADDRESS_NOT_ALLOWED.errno());
    assertThat(site.requests()).isEmpty();
  }

  private static String sign(ECKey key, String subject, String email) throws Exception {
    Instant now = Instant.now();
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.ES256)
                .keyID(key.getKeyID())
                .type(JOSEObjectType.JWT)
                .build(),
            new JWTClaimsSet.Builder()
                .audience("presence")
                .subject(subject)
                .claim("email", email)
                .issueTime(Date.from(now))
                .expirationTime(Date.from(now.plus(Duration.ofHours(1))))
                .build());
    jwt.sign(new ECDSASigner(key));
    return jwt.serialize();
  }
}
