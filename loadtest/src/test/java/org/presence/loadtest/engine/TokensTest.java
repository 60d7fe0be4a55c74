package org.presence.loadtest.engine;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.presence.loadtest.identity.TokenMinter;
import org.presence.loadtest.scenario.ScenarioParams;
import org.presence.loadtest.scenario.Scenarios;
import org.presence.loadtest.scenario.Simulation;

/** Minting a slice's tokens ahead: every device user gets one, and a large slice says so. */
class TokensTest {
  private static Simulation idle(long users) {
    return Scenarios.build(
            "idle-density",
            new ScenarioParams(users, null, Duration.ofSeconds(1), null, null, null, null, null))
        .orElseThrow();
  }

  private static TokenMinter minter() throws Exception {
    return new TokenMinter(
        new ECKeyGenerator(Curve.P_256).algorithm(JWSAlgorithm.ES256).generate(),
        "presence-dev",
        "presence",
        "dev:",
        Duration.ofHours(1));
  }

  @Test
  void aLargeSlice_saysHowManyAndAnEstimate_thenHowLongItTook() throws Exception {
    List<String> lines = new CopyOnWriteArrayList<>();
    Tokens t = Tokens.mint(minter(), idle(40), 1, 2, lines::add, 20);
    assertThat(t.size()).isEqualTo(20);
    assertThat(lines.get(0))
        .startsWith(Tokens.PROGRESS + "20 identity assertions on ")
        .contains(", about ");
    assertThat(lines.get(lines.size() - 1)).startsWith(Tokens.PROGRESS + "20 minted in ");
  }

  @Test
  void aSmallSlice_isMintedQuietly() throws Exception {
    List<String> lines = new CopyOnWriteArrayList<>();
    Tokens t = Tokens.mint(minter(), idle(10), 0, 1, lines::add);
    assertThat(Tokens.QUIET_BELOW).isGreaterThan(10);
    assertThat(t.size()).isEqualTo(10);
    assertThat(t.get(3)).isNotEmpty();
    assertThat(lines).isEmpty();
  }
}
