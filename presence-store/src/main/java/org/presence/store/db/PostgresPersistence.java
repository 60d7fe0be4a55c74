package org.presence.store.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.time.Duration;
import org.presence.store.config.StoreConfig;

/**
 * PostgreSQL through HikariCP. Migrations run at start; the pool holds as many connections as the
 * {@code store-db} pool has threads, so a thread never waits for a connection it cannot get.
 */
public final class PostgresPersistence extends JdbiPersistence {
  private PostgresPersistence(
      HikariDataSource ds, String schema, int threads, int queue, Duration maxWait) {
    super(ds, schema, threads, queue, maxWait);
  }

  /**
   * Connects and migrates. Fails at once (no retry loop) when the server cannot be reached, so that
   * a bad setting ends start-up with a clear message.
   */
  public static PostgresPersistence open(StoreConfig config) {
    StoreConfig.DatabaseConfig db = config.database();
    HikariConfig hc = new HikariConfig();
    hc.setPoolName("postgres");
    hc.setJdbcUrl(PostgresUrls.toJdbc(db.url()));
    if (!db.user().isEmpty()) {
      hc.setUsername(db.user());
    }
    if (!db.password().isEmpty()) {
      hc.setPassword(db.password());
    }
    hc.setSchema(db.schema());
    hc.setMaximumPoolSize(config.dbThreads());
    hc.setMinimumIdle(1);
    hc.setConnectionTimeout(db.connectTimeout().toMillis());
    hc.setValidationTimeout(Math.min(db.connectTimeout().toMillis(), 2000));
    hc.setInitializationFailTimeout(1);
    hc.addDataSourceProperty("ApplicationName", "presence");
    hc.addDataSourceProperty("connectTimeout", Math.max(1, db.connectTimeout().toSeconds()));
    hc.addDataSourceProperty("socketTimeout", 30);
    hc.addDataSourceProperty("tcpKeepAlive", true);
    HikariDataSource ds = new HikariDataSource(hc);
    return new PostgresPersistence(
        ds, db.schema(), config.dbThreads(), config.dbQueue(), db.connectTimeout());
  }

  @Override
  public String kind() {
    return "postgresql";
  }
}
