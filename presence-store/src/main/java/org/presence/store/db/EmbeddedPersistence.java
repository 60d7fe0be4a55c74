package org.presence.store.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.presence.store.config.DataDir;
import org.presence.store.config.StoreConfig;

/**
 * The embedded database: an H2 file at {@code <data-dir>/presence.mv.db}, in H2's PostgreSQL mode
 * so that the same migrations and SQL serve both implementations. Needs no outside server; a
 * restart keeps everything. One process at a time may open a data directory.
 */
public final class EmbeddedPersistence extends JdbiPersistence {
  /** How often the file is compacted while the node runs (see {@link FileCompaction}). */
  static final Duration COMPACT_EVERY = Duration.ofSeconds(2);

  private final FileCompaction compaction;

  private EmbeddedPersistence(
      HikariDataSource ds, int threads, int queue, Duration maxWait, Duration compactEvery) {
    super(ds, "public", threads, queue, maxWait);
    this.compaction = FileCompaction.start(ds, compactEvery);
  }

  /** Opens (creating if needed) the database under {@code config.dataDir()} and migrates it. */
  public static EmbeddedPersistence open(StoreConfig config) {
    return open(config, COMPACT_EVERY);
  }

  /** As {@link #open(StoreConfig)}, compacting the file every {@code compactEvery}. */
  static EmbeddedPersistence open(StoreConfig config, Duration compactEvery) {
    Path dir = config.dataDir().toAbsolutePath();
    try {
      DataDir.secure(dir);
    } catch (IOException e) {
      throw new IllegalStateException("cannot create data directory " + dir + ": " + e, e);
    }
    HikariConfig hc = new HikariConfig();
    hc.setPoolName("embedded-db");
    hc.setJdbcUrl(jdbcUrl(dir));
    hc.setUsername("presence");
    hc.setPassword("");
    // One connection more than the database threads, for the compaction's short runs.
    hc.setMaximumPoolSize(config.dbThreads() + 1);
    hc.setConnectionTimeout(config.database().connectTimeout().toMillis());
    hc.setInitializationFailTimeout(1);
    HikariDataSource ds = new HikariDataSource(hc);
    try {
      // H2 has just created its files (with the process's umask): the owner's alone.
      DataDir.secure(dir);
    } catch (IOException e) {
      ds.close();
      throw new IllegalStateException("cannot restrict the data directory " + dir + ": " + e, e);
    }
    return new EmbeddedPersistence(
        ds, config.dbThreads(), config.dbQueue(), config.database().connectTimeout(), compactEvery);
  }

  /** The H2 URL for the database file in {@code dir}. */
  static String jdbcUrl(Path dir) {
    // MODE=PostgreSQL with lower-case identifiers makes the portable SQL behave as on PostgreSQL;
    // DB_CLOSE_ON_EXIT=FALSE leaves closing to us, after the pools have drained; WRITE_DELAY=0
    // writes each commit to the file before it returns, so an acknowledged write survives the
    // process being killed. It also stops H2's background writer, whose housekeeping keeps the
    // file compact: FileCompaction does that instead. MAX_COMPACT_TIME lets the close compact
    // for up to 2 s (H2's default is 200 ms) so that a stopped node leaves the file near the
    // size of its live data. TRACE_LEVEL_FILE=0: H2 writes no presence.trace.db beside the data
    // (by default every failed statement, and a second process refused the file, appended to
    // one, up to 16 MB and a rotated copy); the node reports its failures in its own log.
    return "jdbc:h2:file:"
        + dir.resolve("presence")
        + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH;DB_CLOSE_ON_EXIT=FALSE"
        + ";WRITE_DELAY=0;MAX_COMPACT_TIME=2000;TRACE_LEVEL_FILE=0";
  }

  @Override
  public void close() {
    // Before the pool closes: a run in progress finishes (bounded), none starts after.
    compaction.close();
    super.close();
  }

  @Override
  public String kind() {
    return "embedded";
  }
}
