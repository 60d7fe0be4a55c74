package org.presence.store.db;

import com.zaxxer.hikari.HikariDataSource;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;
import org.presence.store.app.AppRepository;
import org.presence.store.app.JdbiAppRepository;
import org.presence.store.exec.StoreExecutors;
import org.presence.store.jdbi.Db;
import org.presence.store.permission.GrantRepository;
import org.presence.store.permission.JdbiGrantRepository;
import org.presence.store.user.JdbiUserSettingsRepository;
import org.presence.store.user.UserSettingsRepository;

/**
 * The part both database implementations share: a Hikari pool, Flyway migrations from {@code
 * db/migration} applied at start, the bounded {@code store-db} pool and the Jdbi repositories. The
 * SQL is portable between PostgreSQL and H2 (in its PostgreSQL mode): no upserts or vendor
 * functions, so one set of migrations and statements serves both.
 */
abstract class JdbiPersistence implements Persistence {
  private final HikariDataSource dataSource;
  private final ExecutorService executor;
  private final Db db;
  private final AppRepository apps;
  private final GrantRepository grants;
  private final UserSettingsRepository settings;

  JdbiPersistence(
      HikariDataSource dataSource, String schema, int threads, int queue, Duration maxWait) {
    this(dataSource, schema, threads, queue, maxWait, null);
  }

  /** As above, for a database that can close itself ({@link Db.Reopening}). */
  JdbiPersistence(
      HikariDataSource dataSource,
      String schema,
      int threads,
      int queue,
      Duration maxWait,
      Db.Reopening reopening) {
    this.dataSource = dataSource;
    try {
      Flyway.configure()
          .dataSource(dataSource)
          .schemas(schema)
          .createSchemas(true)
          .locations("classpath:db/migration")
          .load()
          .migrate();
    } catch (RuntimeException e) {
      dataSource.close();
      throw e;
    }
    this.executor = StoreExecutors.bounded("store-db-", threads, queue);
    this.db = new Db(Jdbi.create(dataSource), executor, maxWait, reopening);
    this.apps = new JdbiAppRepository(db);
    this.grants = new JdbiGrantRepository(db);
    this.settings = new JdbiUserSettingsRepository(db);
  }

  @Override
  public AppRepository apps() {
    return apps;
  }

  @Override
  public GrantRepository grants() {
    return grants;
  }

  @Override
  public UserSettingsRepository settings() {
    return settings;
  }

  @Override
  public Db db() {
    return db;
  }

  @Override
  public CompletionStage<Void> ping() {
    return db.call(h -> h.createQuery("SELECT 1").mapTo(Integer.class).one()).thenApply(x -> null);
  }

  @Override
  public void close() {
    executor.shutdown();
    try {
      executor.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    dataSource.close();
  }
}
