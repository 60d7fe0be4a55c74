package org.presence.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin token ({@code admin.token}, {@code admin.token-file}) and the query settings. */
class AdminAndQueriesConfigTest {
  private static final String TOKEN = "0123456789abcdef0123456789abcdef";

  @TempDir Path dir;

  @Test
  void defaults_noTokenSoTheAdminApiIsOff_andQueryLimits() {
    PresenceConfig c = ConfigLoader.load(null, Map.of(), Map.of());
    assertThat(c.admin().token()).isNull();
    assertThat(c.admin().apiEnabled()).isFalse();
    assertThat(c.queries().rate()).isEqualTo(20.0);
    assertThat(c.queries().burst()).isEqualTo(50);
    assertThat(c.queries().statsTtl()).isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void token_fromSettingOrFile_neverPrinted() throws Exception {
    PresenceConfig c = ConfigLoader.load(null, Map.of(), Map.of("admin.token", TOKEN));
    assertThat(c.admin().token()).isEqualTo(TOKEN);
    assertThat(c.admin().toString()).doesNotContain(TOKEN);
    Path file = dir.resolve("token");
    Files.writeString(file, TOKEN + "\n");
    assertThat(
            ConfigLoader.load(null, Map.of(), Map.of("admin.token-file", file.toString()))
                .admin()
                .token())
        .isEqualTo(TOKEN);
    assertThat(
            ConfigLoader.load(null, Map.of("PRESENCE__ADMIN__TOKEN", TOKEN), Map.of())
                .admin()
                .token())
        .isEqualTo(TOKEN);
  }

  @Test
  void badTokens_areProblems() {
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of("admin.token", "short")))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("admin.token");
    assertThatThrownBy(
            () ->
                ConfigLoader.load(
                    null,
                    Map.of(),
                    Map.of("admin.token", TOKEN, "admin.token-file", dir.resolve("t").toString())))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("admin.token-file");
    assertThatThrownBy(
            () ->
                ConfigLoader.load(
                    null, Map.of(), Map.of("admin.token-file", dir.resolve("missing").toString())))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("admin.token-file");
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of("queries.rate", "0")))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("queries.rate");
  }
}
