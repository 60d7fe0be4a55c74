package org.presence.loadtest.presence;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.loadtest.identity.TokenMinter;

/** A setup that cannot reach the node says which call failed and why, never "null". */
class PresenceSetupFailureTest {
  @TempDir Path dir;

  @Test
  void aNodeThatIsNotThere_isNamedWithTheCallThatFailed() throws Exception {
    ECKey key =
        new ECKeyGenerator(Curve.P_256).keyID("k1").algorithm(JWSAlgorithm.ES256).generate();
    Path file = dir.resolve("dev-identity.jwk");
    Files.writeString(file, key.toJSONString());
    TokenMinter minter =
        new TokenMinter(
            TokenMinter.load(file), "presence-dev", "presence", "dev:", Duration.ofHours(1));
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    URI base = URI.create("http://127.0.0.1:" + port);
    assertThatThrownBy(
            () ->
                PresenceSetup.prepare(base, minter, 1, 1, dir, new PrintWriter(new StringWriter())))
        .isInstanceOf(IOException.class)
        .hasMessage(
            "presence setup: POST "
                + base
                + "/api/apps failed: connection refused (is the node running there?)");
  }
}
