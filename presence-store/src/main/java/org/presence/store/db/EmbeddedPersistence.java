package org.presence.store.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.h2.api.ErrorCode;
import org.h2.mvstore.DataUtils;
import org.h2.mvstore.MVStoreException;
import org.presence.store.config.DataDir;
import org.presence.store.config.StoreConfig;
import org.presence.store.error.StartupException;
import org.presence.store.jdbi.Db;
import org.presence.store.queue.JournalNotificationQueues;

/**
 * The embedded database: an H2 file at {@code <data-dir>/presence.mv.db}, in H2's PostgreSQL mode
 * so that the same migrations and SQL serve both implementations. Needs no outside server; a
 * restart keeps everything. One process at a time may open a data directory.
 *
 * <p>H2 closes the database by itself when a write or read of its file fails (a full disk): every
 * connection then answers "The database has been closed". {@link Reopener} tells {@link Db} which
 * failures say so; they answer {@code BACKEND_UNAVAILABLE}, and the pool's connections are dropped
 * so that the next one opens the file again, as a restart would (H2 goes back to the last commit
 * wholly in the file, as after a crash).
 */
public final class EmbeddedPersistence extends JdbiPersistence {
  /** The database file in the data directory. */
  public static final String FILE = "presence.mv.db";

  /**
   * Files the node writes into its data directory after it has opened the database: one of them
   * with content, beside a missing or empty database, shows the directory was used before. The
   * journal, and the gateway's {@code WebSessions.KEY_FILE}, made at every start unless {@code
   * web.session-secret} is set; not {@code dev-identity.jwk}, which is copied into new data
   * directories to share a development key.
   */
  static final List<String> WRITTEN_AFTER =
      List.of(JournalNotificationQueues.FILE, "web-session.key");

  /** How often the file is compacted while the node runs (see {@link FileCompaction}). */
  static final Duration COMPACT_EVERY = Duration.ofSeconds(2);

  private final FileCompaction compaction;

  private EmbeddedPersistence(
      HikariDataSource ds, int threads, int queue, Duration maxWait, Duration compactEvery) {
    super(ds, "public", threads, queue, maxWait, new Reopener(ds));
    this.compaction = FileCompaction.start(ds, compactEvery);
  }

  /** Opens (creating if needed) the database under {@code config.dataDir()} and migrates it. */
  public static EmbeddedPersistence open(StoreConfig config) {
    return open(config, COMPACT_EVERY);
  }

  /** As {@link #open(StoreConfig)}, compacting the file every {@code compactEvery}. */
  static EmbeddedPersistence open(StoreConfig config, Duration compactEvery) {
    return open(config, compactEvery, "file");
  }

  /**
   * As {@link #open(StoreConfig, Duration)}, through H2's file system {@code fileSystem} ({@code
   * file}; a test's own, registered with H2, that fails writes on demand).
   */
  static EmbeddedPersistence open(StoreConfig config, Duration compactEvery, String fileSystem) {
    Path dir = config.dataDir().toAbsolutePath();
    try {
      DataDir.secure(dir);
    } catch (IOException e) {
      throw new IllegalStateException("cannot create data directory " + dir + ": " + e, e);
    }
    refuseLostDatabase(dir);
    HikariConfig hc = new HikariConfig();
    hc.setPoolName("embedded-db");
    hc.setJdbcUrl(jdbcUrl(fileSystem, dir));
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

  /**
   * Whether {@code t}, a failure to open the database, says another process holds the file's lock
   * (H2's "Database may be already in use", its store's "The file is locked").
   */
  public static boolean inUse(Throwable t) {
    int depth = 0;
    for (Throwable c = t; c != null && depth < 32; c = c.getCause(), depth++) {
      if (c instanceof SQLException sql
          && sql.getErrorCode() == ErrorCode.DATABASE_ALREADY_OPEN_1) {
        return true;
      }
      if (c instanceof MVStoreException store
          && store.getErrorCode() == DataUtils.ERROR_FILE_LOCKED) {
        return true;
      }
    }
    return false;
  }

  /**
   * Refuses to start when the database file is missing or empty while files the node writes after
   * it (the notification journal, the pages' session key) have content: H2 would make a new, empty
   * database, and the node would run on without any application, grant or setting, and drop the
   * journal's queued notifications as their PUIDs came up unknown.
   */
  static void refuseLostDatabase(Path dir) {
    Path db = dir.resolve(FILE);
    try {
      if (Files.isRegularFile(db) && Files.size(db) > 0) {
        return;
      }
      List<String> used = new ArrayList<>();
      for (String name : WRITTEN_AFTER) {
        Path f = dir.resolve(name);
        if (Files.isRegularFile(f) && Files.size(f) > 0) {
          used.add(name);
        }
      }
      if (used.isEmpty()) {
        return;
      }
      throw new StartupException(
          "data-dir",
          db
              + (Files.exists(db) ? " is empty" : " is missing")
              + " but the directory was used before ("
              + String.join(", ", used)
              + "): restore "
              + FILE
              + " from a backup, or, to start afresh without the earlier applications and"
              + " grants, move the directory's other files away");
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the data directory " + dir + ": " + e, e);
    }
  }

  /** The H2 URL for the database file in {@code dir}. */
  static String jdbcUrl(Path dir) {
    return jdbcUrl("file", dir);
  }

  /** The H2 URL for the database file in {@code dir} on H2's file system {@code fileSystem}. */
  static String jdbcUrl(String fileSystem, Path dir) {
    // MODE=PostgreSQL with lower-case identifiers makes the portable SQL behave as on PostgreSQL;
    // DB_CLOSE_ON_EXIT=FALSE leaves closing to us, after the pools have drained; WRITE_DELAY=0
    // writes each commit to the file before it returns, so an acknowledged write survives the
    // process being killed. It also stops H2's background writer, whose housekeeping keeps the
    // file compact: FileCompaction does that instead. MAX_COMPACT_TIME lets the close compact
    // for up to 2 s (H2's default is 200 ms) so that a stopped node leaves the file near the
    // size of its live data. TRACE_LEVEL_FILE=0: H2 writes no presence.trace.db beside the data
    // (by default every failed statement, and a second process refused the file, appended to
    // one, up to 16 MB and a rotated copy); the node reports its failures in its own log.
    return "jdbc:h2:"
        + fileSystem
        + ":"
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

  /**
   * Which failures say H2 closed the database (its file could not be written or read), and the
   * reopening: the pool's connections are dropped (those in use when they come back), so the next
   * one it makes opens the file again. HikariCP makes its connections one at a time, so one opening
   * runs; while the file cannot be written, the opening may work (it only reads) and the next write
   * closes the database again.
   */
  static final class Reopener implements Db.Reopening {
    private final HikariDataSource dataSource;

    Reopener(HikariDataSource dataSource) {
      this.dataSource = dataSource;
    }

    @Override
    public boolean closedItself(Throwable t) {
      // Bounded: H2's exceptions may share causes.
      int depth = 0;
      for (Throwable c = t; c != null && depth < 32; c = c.getCause(), depth++) {
        if (c instanceof SQLException sql && sql.getErrorCode() == ErrorCode.DATABASE_IS_CLOSED) {
          return true;
        }
        if (c instanceof MVStoreException store) {
          int code = store.getErrorCode();
          // The store's own failures, after which H2 closes it; not a transaction's (100 and up).
          if (code == DataUtils.ERROR_READING_FAILED
              || code == DataUtils.ERROR_WRITING_FAILED
              || code == DataUtils.ERROR_CLOSED) {
            return true;
          }
        }
      }
      return false;
    }

    @Override
    public void reopen() {
      HikariPoolMXBean pool = dataSource.getHikariPoolMXBean();
      if (pool != null) {
        pool.softEvictConnections();
      }
    }
  }
}
