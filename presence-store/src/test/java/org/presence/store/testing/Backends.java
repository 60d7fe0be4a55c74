package org.presence.store.testing;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.UUID;
import org.presence.store.config.StoreConfig;
import org.presence.store.db.PostgresUrls;

/**
 * The real PostgreSQL, Redis and Redis Cluster that integration tests use, as started by {@code
 * bin/test-all} (which exports their URLs). Each test class takes its own PostgreSQL schema and
 * Redis key prefix, so classes never see each other's data.
 *
 * <p>Without the URLs an integration test is skipped, unless {@code PRESENCE_TEST_REQUIRE_BACKENDS}
 * is set (as {@code bin/test-all} does), in which case it fails: CI cannot pass by skipping.
 */
public final class Backends {
  public static final String DATABASE_URL = "PRESENCE_TEST_DATABASE_URL";
  public static final String REDIS_URL = "PRESENCE_TEST_REDIS_URL";
  public static final String REDIS_CLUSTER_URL = "PRESENCE_TEST_REDIS_CLUSTER_URL";
  public static final String REQUIRE = "PRESENCE_TEST_REQUIRE_BACKENDS";

  private Backends() {}

  /** The PostgreSQL URL, or the test is skipped (or failed, when backends are required). */
  public static String databaseUrl() {
    return require(DATABASE_URL, "PostgreSQL");
  }

  /** The Redis URL, or the test is skipped (or failed, when backends are required). */
  public static String redisUrl() {
    return require(REDIS_URL, "Redis");
  }

  /**
   * The seed URL of the Redis Cluster ({@code redis-cluster://...}), or the test is skipped (or
   * failed, when backends are required).
   */
  public static String redisClusterUrl() {
    return require(REDIS_CLUSTER_URL, "Redis Cluster");
  }

  private static String require(String variable, String what) {
    String url = System.getenv(variable);
    if (url == null || url.isBlank()) {
      String message =
          what + " not available: run bin/test-all, or set " + variable + " to a running server";
      if (System.getenv(REQUIRE) != null) {
        fail(message);
      }
      assumeTrue(false, message);
    }
    return url;
  }

  /** A fresh schema name for {@code testClass}. */
  public static String uniqueSchema(Class<?> testClass) {
    return ("t_" + testClass.getSimpleName() + "_" + UUID.randomUUID().toString().substring(0, 8))
        .toLowerCase(Locale.ROOT)
        .replaceAll("[^a-z0-9_]", "_");
  }

  /** A fresh Redis key prefix for {@code testClass}. */
  public static String uniquePrefix(Class<?> testClass) {
    return "test:"
        + testClass.getSimpleName()
        + ":"
        + UUID.randomUUID().toString().substring(0, 8)
        + ":";
  }

  /** PostgreSQL settings for {@code schema}. */
  public static StoreConfig.DatabaseConfig postgres(String schema) {
    return StoreConfig.DatabaseConfig.postgres(databaseUrl()).withSchema(schema);
  }

  /** Redis settings with {@code prefix}. */
  public static StoreConfig.RedisConfig redis(String prefix) {
    return StoreConfig.RedisConfig.redis(redisUrl()).withKeyPrefix(prefix);
  }

  /** Redis Cluster settings with {@code prefix}. */
  public static StoreConfig.RedisConfig redisCluster(String prefix) {
    return StoreConfig.RedisConfig.redis(redisClusterUrl()).withKeyPrefix(prefix);
  }

  /** Drops {@code schema} and everything in it. */
  public static void dropSchema(String schema) {
    try (Connection c = DriverManager.getConnection(PostgresUrls.toJdbc(databaseUrl()));
        Statement s = c.createStatement()) {
      s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    } catch (SQLException e) {
      throw new IllegalStateException("cannot drop schema " + schema, e);
    }
  }
}
