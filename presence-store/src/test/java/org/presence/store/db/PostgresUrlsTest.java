package org.presence.store.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PostgresUrlsTest {
  @Test
  void toJdbc_keepsJdbcUrls() {
    assertThat(PostgresUrls.toJdbc("jdbc:postgresql://db:5432/presence?ssl=true"))
        .isEqualTo("jdbc:postgresql://db:5432/presence?ssl=true");
  }

  @Test
  void toJdbc_convertsLibpqUrlsWithCredentials() {
    assertThat(PostgresUrls.toJdbc("postgresql://alice:pw@db.internal:6543/presence"))
        .isEqualTo("jdbc:postgresql://db.internal:6543/presence?user=alice&password=pw");
    assertThat(PostgresUrls.toJdbc("postgres://db/presence?sslmode=require"))
        .isEqualTo("jdbc:postgresql://db/presence?sslmode=require");
  }

  @Test
  void toJdbc_rejectsOtherSchemesAndGarbage() {
    assertThatThrownBy(() -> PostgresUrls.toJdbc("mysql://db/x"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a PostgreSQL URL");
    assertThatThrownBy(() -> PostgresUrls.toJdbc("postgresql://"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> PostgresUrls.toJdbc("jdbc:postgresql://bad host/x"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
