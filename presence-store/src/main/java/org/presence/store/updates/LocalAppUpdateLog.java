package org.presence.store.updates;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The in-memory {@link AppUpdateLog} of the embedded default.
 *
 * <p>Each application's numbering starts, the first time the node sees it, after the current time
 * in milliseconds times 1000. So numbers keep increasing across restarts of the node (as long as
 * an app gets fewer than a thousand updates per millisecond on average), and a reader resuming
 * with a number from before a restart (below the log's start) learns that its updates are gone
 * ({@link Outcome#TOO_OLD}) rather than being told it is ahead. The numbers stay below 2^53, safe
 * in JavaScript.
 */
public final class LocalAppUpdateLog implements AppUpdateLog {
  private final Map<Long, AppLog> logs = new ConcurrentHashMap<>();
  private final Clock clock;
  private final Duration retention;

  public LocalAppUpdateLog() {
    this(Clock.systemUTC(), RETENTION);
  }

  /** With another clock and retention (tests). */
  public LocalAppUpdateLog(Clock clock, Duration retention) {
    this.clock = clock;
    this.retention = retention;
  }

  private AppLog log(long appId) {
    return logs.computeIfAbsent(appId, id -> new AppLog(clock.millis() * 1000));
  }

  @Override
  public CompletionStage<List<AppUpdate>> append(long appId, List<AppUpdate.New> updates) {
    AppLog log = log(appId);
    Instant now = clock.instant();
    List<AppUpdate> out = new ArrayList<>(updates.size());
    synchronized (log) {
      log.trim(now.minus(retention));
      for (AppUpdate.New u : updates) {
        AppUpdate numbered = new AppUpdate(++log.last, u.puid(), u.status(), u.message(), now);
        log.entries.addLast(numbered);
        out.add(numbered);
      }
    }
    return CompletableFuture.completedFuture(out);
  }

  @Override
  public CompletionStage<Read> readSince(long appId, long since, int limit) {
    AppLog log = log(appId);
    synchronized (log) {
      log.trim(clock.instant().minus(retention));
      long last = log.last;
      if (since > last) {
        return done(new Read(Outcome.AHEAD, List.of(), last, false));
      }
      long oldest = log.entries.isEmpty() ? last + 1 : log.entries.peekFirst().seq();
      if (since < log.base || since + 1 < oldest) {
        return done(new Read(Outcome.TOO_OLD, List.of(), last, false));
      }
      List<AppUpdate> out = new ArrayList<>();
      boolean more = false;
      for (AppUpdate u : log.entries) {
        if (u.seq() > since) {
          if (out.size() == limit) {
            more = true;
            break;
          }
          out.add(u);
        }
      }
      return done(new Read(Outcome.OK, out, last, more));
    }
  }

  @Override
  public CompletionStage<Long> lastSeq(long appId) {
    AppLog log = log(appId);
    synchronized (log) {
      return CompletableFuture.completedFuture(log.last);
    }
  }

  private static CompletionStage<Read> done(Read r) {
    return CompletableFuture.completedFuture(r);
  }

  /** One application's updates, oldest first; guarded by itself. */
  private static final class AppLog {
    final long base;
    long last;
    final ArrayDeque<AppUpdate> entries = new ArrayDeque<>();

    AppLog(long base) {
      this.base = base;
      this.last = base;
    }

    void trim(Instant cutoff) {
      Iterator<AppUpdate> it = entries.iterator();
      while (it.hasNext() && it.next().at().isBefore(cutoff)) {
        it.remove();
      }
    }
  }
}
