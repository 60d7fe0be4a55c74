package org.presence.store.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.presence.store.Store;
import org.presence.store.error.StartupException;

class StoreConfigTest {
  @Test
  void databaseConfig_whenPrinted_thenNoPasswordShows() {
    StoreConfig.DatabaseConfig db =
        new StoreConfig.DatabaseConfig(
            "postgresql://alice:s3cret@db.example:5432/presence",
            "bob",
            "hunter2",
            Duration.ofSeconds(5),
            "public");
    assertThat(db.toString())
        .doesNotContain("s3cret")
        .doesNotContain("hunter2")
        .contains("postgresql://***@db.example:5432/presence")
        .contains("user=bob")
        .contains("password=***");
    assertThat(StoreConfig.DatabaseConfig.postgres("jdbc:postgresql://h/db").toString())
        .contains("password=,");
  }

  @Test
  void redact_hidesUrlCredentialsAndPasswordParameters() {
    assertThat(StoreConfig.redact("jdbc:postgresql://h:5432/db?user=u&password=p%40ss&ssl=true"))
        .isEqualTo("jdbc:postgresql://h:5432/db?user=u&password=***&ssl=true");
    assertThat(StoreConfig.redact("at postgres://u:pa/ss@h/db: refused"))
        .isEqualTo("at postgres://***@h/db: refused");
    assertThat(StoreConfig.redact("no secret here")).isEqualTo("no secret here");
  }

  @Test
  void postgresThatCannotBeReached_failsWithoutItsPassword(@TempDir Path dir) {
    for (String url :
        new String[] {
          "postgresql://alice:s3cret@127.0.0.1:1/presence",
          "jdbc:postgresql://127.0.0.1:1/presence?user=alice&password=s3cret"
        }) {
      StoreConfig config =
          new StoreConfig(
              dir,
              new StoreConfig.DatabaseConfig(url, "", "", Duration.ofSeconds(2), "public"),
              StoreConfig.RedisConfig.local(),
              1,
              16);
      assertThatThrownBy(() -> Store.open(config).close())
          .as(url)
          .isInstanceOf(StartupException.class)
          .hasMessageContaining("127.0.0.1:1")
          .hasMessageNotContaining("s3cret");
    }
  }
}
