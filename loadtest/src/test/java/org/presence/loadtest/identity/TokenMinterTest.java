package org.presence.loadtest.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.SignedJWT;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenMinterTest {
  @TempDir Path dir;

  @Test
  void tokenMinter_signsAssertionsTheNodeCanVerify() throws Exception {
    ECKey key =
        new ECKeyGenerator(Curve.P_256).keyID("k1").algorithm(JWSAlgorithm.ES256).generate();
    Path file = dir.resolve("dev-identity.jwk");
    Files.writeString(file, key.toJSONString());
    TokenMinter m =
        new TokenMinter(
            TokenMinter.load(file), "presence-dev", "presence", "dev:", Duration.ofHours(1));
    SignedJWT jwt = SignedJWT.parse(m.mint(7));
    assertThat(jwt.verify(new ECDSAVerifier(key.toPublicJWK()))).isTrue();
    assertThat(jwt.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
    assertThat(jwt.getHeader().getKeyID()).isEqualTo("k1");
    assertThat(jwt.getJWTClaimsSet().getSubject()).isEqualTo("dev:load-7@loadtest.invalid");
    assertThat(jwt.getJWTClaimsSet().getIssuer()).isEqualTo("presence-dev");
    assertThat(jwt.getJWTClaimsSet().getAudience()).containsExactly("presence");
    assertThatThrownBy(() -> new TokenMinter(key.toPublicJWK(), "i", "a", "", Duration.ofHours(1)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
