package org.presence.store.db;

import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.h2.engine.SessionLocal;
import org.h2.jdbc.JdbcConnection;
import org.h2.mvstore.FileStore;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.RandomAccessStore;
import org.presence.store.exec.StoreExecutors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the embedded H2 file near the size of its live data while the node runs.
 *
 * <p>The database is opened with {@code WRITE_DELAY=0} so that each commit is in the file before it
 * returns. In H2 2.x that setting also stops the store's background writer, which is what rewrites
 * partly dead chunks and moves chunks into the holes; without it every commit's chunk that keeps
 * one live page stays, and the file grows for as long as the node runs (only a close compacts it,
 * for {@code MAX_COMPACT_TIME}). This does the background writer's housekeeping on a schedule,
 * through H2's public store API, and leaves commits as they are:
 *
 * <ul>
 *   <li>{@link MVStore#compact(int, int)} rewrites the live pages of the emptiest chunks (only
 *       those older than the store's retention time, 45 s, as H2's own housekeeping does) and the
 *       rewrite is committed at once; the chunks it empties are reused by later commits;
 *   <li>{@link RandomAccessStore#compactMoveChunks(int, long, MVStore)} moves chunks from the end
 *       of the file into free space and truncates it (H2 syncs the file before it overwrites or
 *       truncates anything).
 * </ul>
 *
 * Each run stops after {@link #RUN_BUDGET}, a bounded rewrite at a time, so commits wait for the
 * store's lock at most for one such step. At start the file is compacted once, for up to {@link
 * #START_BUDGET}, before the node takes any request.
 */
final class FileCompaction implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FileCompaction.class);

  /** Compaction starts when the chunks are fuller than this (percent live); H2's default is 90. */
  static final int TARGET_FILL_RATE = 80;

  /** Live bytes one rewrite step copies (the store's lock is held for one step). */
  private static final int STEP_BYTES = 256 * 1024;

  /** Chunk bytes one move step moves toward the start of the file. */
  private static final long MOVE_BYTES = 1024 * 1024;

  /** How long one scheduled run may take at most (one step more at worst). */
  static final Duration RUN_BUDGET = Duration.ofMillis(200);

  /** How long the compaction at start may take. */
  static final Duration START_BUDGET = Duration.ofSeconds(2);

  private final HikariDataSource dataSource;
  private final ScheduledExecutorService timer;

  private FileCompaction(HikariDataSource dataSource) {
    this.dataSource = dataSource;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(StoreExecutors.named("embedded-db-compact-"));
  }

  /** Compacts the file once now (bounded), then every {@code every} until closed. */
  static FileCompaction start(HikariDataSource dataSource, Duration every) {
    FileCompaction c = new FileCompaction(dataSource);
    c.atStart();
    long ms = every.toMillis();
    c.timer.scheduleWithFixedDelay(c::runSafely, ms, ms, TimeUnit.MILLISECONDS);
    return c;
  }

  private void atStart() {
    try (Connection conn = dataSource.getConnection()) {
      MVStore store = store(conn);
      int retention = store.getRetentionTime();
      try {
        // compactFile drops the retention time to 0 for good; nothing else writes yet, so that is
        // safe here, and the store's setting is put back for the commits that follow.
        store.compactFile((int) START_BUDGET.toMillis());
      } finally {
        store.setRetentionTime(retention);
      }
    } catch (SQLException | RuntimeException e) {
      LOG.warn("embedded database: compaction at start failed; it is tried again while running", e);
    }
  }

  private void runSafely() {
    try (Connection conn = dataSource.getConnection()) {
      runOnce(store(conn));
    } catch (SQLException | RuntimeException e) {
      // Closed under us, or a store error H2 reports itself; the next run tries again.
      LOG.debug("embedded database: compaction run failed", e);
    }
  }

  /** One bounded round of the background writer's housekeeping. */
  static void runOnce(MVStore store) {
    if (store.isClosed()) {
      return;
    }
    FileStore<?> file = store.getFileStore();
    long deadline = System.nanoTime() + RUN_BUDGET.toNanos();
    while (file.getChunksFillRate() < TARGET_FILL_RATE && System.nanoTime() < deadline) {
      if (!store.compact(TARGET_FILL_RATE, STEP_BYTES)) {
        break; // nothing old enough to rewrite, or the lock was busy: next run
      }
      store.commit();
    }
    if (file instanceof RandomAccessStore moving
        && file.getFillRate() < TARGET_FILL_RATE
        && System.nanoTime() < deadline) {
      moving.compactMoveChunks(TARGET_FILL_RATE, MOVE_BYTES, store);
    }
  }

  /** The store behind an embedded connection. */
  static MVStore store(Connection conn) throws SQLException {
    SessionLocal session = (SessionLocal) conn.unwrap(JdbcConnection.class).getSession();
    return session.getDatabase().getStore().getMvStore();
  }

  /** Stops the schedule, waiting for a run in progress (bounded by {@link #RUN_BUDGET}). */
  @Override
  public void close() {
    // Not shutdownNow: an interrupt in the middle of a file write closes H2's file channel.
    timer.shutdown();
    try {
      timer.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
