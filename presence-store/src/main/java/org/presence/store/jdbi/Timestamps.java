package org.presence.store.jdbi;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;

/**
 * Instants to and from {@code TIMESTAMP WITH TIME ZONE} columns, the same way on PostgreSQL and H2,
 * whatever the JVM's time zone. Truncated to microseconds, the precision both databases keep.
 */
public final class Timestamps {
  private Timestamps() {}

  /** The current instant at the precision the databases store. */
  public static Instant now() {
    return Instant.now().truncatedTo(ChronoUnit.MICROS);
  }

  /** The value to bind for {@code instant}. */
  public static OffsetDateTime bind(Instant instant) {
    return instant == null ? null : OffsetDateTime.ofInstant(instant, ZoneOffset.UTC);
  }

  /** The instant in {@code column}, or {@code null}. */
  public static Instant read(ResultSet rs, String column) throws SQLException {
    OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
    return t == null ? null : t.toInstant();
  }
}
