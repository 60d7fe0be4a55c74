package org.presence.store.updates;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.presence.protocol.model.PresenceStatus;

/**
 * The behaviour every {@link AppUpdateLog} must have. Runs against the in-memory log ({@code
 * LocalAppUpdateLogTest}) and Redis ({@code RedisAppUpdateLogIT}).
 */
public abstract class AppUpdateLogContract {
  private AppUpdateLog log;

  /** A log keeping updates for {@code retention}. */
  protected abstract AppUpdateLog open(Duration retention);

  /** A log keeping at most {@code max} updates per application. */
  protected abstract AppUpdateLog bounded(int max);

  /** A second log on the same medium, as another node's (the same one for the in-memory log). */
  protected abstract AppUpdateLog peer(AppUpdateLog log);

  /** Closes what was opened. */
  protected abstract void closeAll();

  @AfterEach
  void close() {
    closeAll();
  }

  private AppUpdateLog log() {
    if (log == null) {
      log = open(AppUpdateLog.RETENTION);
    }
    return log;
  }

  protected static <T> T join(CompletionStage<T> s) {
    try {
      return s.toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static long app() {
    return ThreadLocalRandom.current().nextLong(1_000_000, Long.MAX_VALUE / 4);
  }

  private static AppUpdate.New upd(String puid, PresenceStatus s) {
    return new AppUpdate.New(puid, s, "");
  }

  @Test
  void append_numbersConsecutivelyAfterTheCurrentPosition() {
    long app = app();
    long start = join(log().lastSeq(app));
    List<AppUpdate> a =
        join(
            log()
                .append(
                    app,
                    List.of(
                        upd("p1", PresenceStatus.ONLINE),
                        new AppUpdate.New("p2", PresenceStatus.AWAY, "lunch"))));
    List<AppUpdate> b = join(log().append(app, List.of(upd("p1", PresenceStatus.OFFLINE))));
    assertThat(a).extracting(AppUpdate::seq).containsExactly(start + 1, start + 2);
    assertThat(b).extracting(AppUpdate::seq).containsExactly(start + 3);
    assertThat(a.get(1).message()).isEqualTo("lunch");
    assertThat(join(log().lastSeq(app))).isEqualTo(start + 3);
  }

  @Test
  void readSince_returnsEverythingAfterInOrder() {
    long app = app();
    long start = join(log().lastSeq(app));
    List<AppUpdate> written =
        join(
            log()
                .append(
                    app,
                    List.of(
                        upd("a", PresenceStatus.ONLINE),
                        new AppUpdate.New("b", PresenceStatus.UNAVAILABLE, "driving <fast> \u00e9"),
                        upd("a", PresenceStatus.AWAY))));
    AppUpdateLog.Read all = join(log().readSince(app, start, 100));
    assertThat(all.outcome()).isEqualTo(AppUpdateLog.Outcome.OK);
    assertThat(all.updates())
        .usingRecursiveFieldByFieldElementComparatorIgnoringFields("at")
        .containsExactlyElementsOf(written);
    assertThat(all.lastSeq()).isEqualTo(start + 3);
    assertThat(all.more()).isFalse();
    AppUpdateLog.Read tail = join(log().readSince(app, start + 2, 100));
    assertThat(tail.updates())
        .extracting(AppUpdate::puid, AppUpdate::status)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("a", PresenceStatus.AWAY));
  }

  @Test
  void readSince_atTheEnd_isOkAndEmpty_andBeyondIsAhead() {
    long app = app();
    join(log().append(app, List.of(upd("x", PresenceStatus.ONLINE))));
    long last = join(log().lastSeq(app));
    AppUpdateLog.Read atEnd = join(log().readSince(app, last, 10));
    assertThat(atEnd.outcome()).isEqualTo(AppUpdateLog.Outcome.OK);
    assertThat(atEnd.updates()).isEmpty();
    assertThat(join(log().readSince(app, last + 1, 10)).outcome())
        .isEqualTo(AppUpdateLog.Outcome.AHEAD);
    assertThat(join(log().readSince(app, Long.MAX_VALUE / 2, 10)).outcome())
        .isEqualTo(AppUpdateLog.Outcome.AHEAD);
  }

  @Test
  void readSince_atAFreshPosition_isOk() {
    long app = app();
    long start = join(log().lastSeq(app));
    assertThat(join(log().readSince(app, start, 10)).outcome()).isEqualTo(AppUpdateLog.Outcome.OK);
  }

  @Test
  void readSince_pagesWithLimitAndMore() {
    long app = app();
    long start = join(log().lastSeq(app));
    join(
        log()
            .append(
                app,
                IntStream.range(0, 25)
                    .mapToObj(i -> upd("p" + i, PresenceStatus.ONLINE))
                    .toList()));
    AppUpdateLog.Read first = join(log().readSince(app, start, 10));
    assertThat(first.updates()).hasSize(10);
    assertThat(first.more()).isTrue();
    AppUpdateLog.Read second = join(log().readSince(app, first.updates().get(9).seq(), 10));
    AppUpdateLog.Read third = join(log().readSince(app, second.updates().get(9).seq(), 10));
    assertThat(third.updates()).hasSize(5);
    assertThat(third.more()).isFalse();
    assertThat(third.updates().get(4).puid()).isEqualTo("p24");
  }

  @Test
  void apps_haveSeparateLogs() {
    long a = app();
    long b = app();
    long startB = join(log().lastSeq(b));
    join(log().append(a, List.of(upd("only-a", PresenceStatus.ONLINE))));
    assertThat(join(log().readSince(b, startB, 10)).updates()).isEmpty();
    assertThat(join(log().lastSeq(b))).isEqualTo(startB);
  }

  @Test
  void concurrentAppends_fromTwoNodes_getUniqueConsecutiveNumbers() {
    long app = app();
    AppUpdateLog other = peer(log());
    long start = join(log().lastSeq(app));
    List<CompletableFuture<List<AppUpdate>>> writes =
        IntStream.range(0, 40)
            .mapToObj(
                i ->
                    (i % 2 == 0 ? log() : other)
                        .append(
                            app,
                            List.of(
                                upd("n" + i, PresenceStatus.ONLINE),
                                upd("m" + i, PresenceStatus.AWAY)))
                        .toCompletableFuture())
            .toList();
    List<Long> seqs =
        writes.stream().flatMap(w -> join(w).stream()).map(AppUpdate::seq).sorted().toList();
    assertThat(seqs)
        .containsExactlyElementsOf(LongStream.rangeClosed(start + 1, start + 80).boxed().toList());
    assertThat(join(other.readSince(app, start, 1000)).updates()).hasSize(80);
  }

  @Test
  void updatesOlderThanTheRetention_areDroppedAndReadersToldSo() {
    AppUpdateLog shortLog = open(Duration.ofSeconds(1));
    long app = app();
    long start = join(shortLog.lastSeq(app));
    join(shortLog.append(app, List.of(upd("gone", PresenceStatus.ONLINE))));
    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(200))
        .until(
            () ->
                join(shortLog.readSince(app, start, 10)).outcome() == AppUpdateLog.Outcome.TOO_OLD);
    List<AppUpdate> fresh = join(shortLog.append(app, List.of(upd("new", PresenceStatus.AWAY))));
    AppUpdateLog.Read r = join(shortLog.readSince(app, fresh.get(0).seq() - 1, 10));
    assertThat(r.outcome()).isEqualTo(AppUpdateLog.Outcome.OK);
    assertThat(r.updates()).extracting(AppUpdate::puid).containsExactly("new");
    assertThat(join(shortLog.readSince(app, start, 10)).outcome())
        .isEqualTo(AppUpdateLog.Outcome.TOO_OLD);
  }

  private static AppUpdate.New change(String puid, PresenceStatus s, long version) {
    return new AppUpdate.New(puid, s, "", version, AppUpdate.Kind.CHANGE);
  }

  private static AppUpdate.New kind(String puid, PresenceStatus s, long version, AppUpdate.Kind k) {
    return new AppUpdate.New(puid, s, "", version, k);
  }

  @Test
  void append_carriesTheVersion_andReadsItBack() {
    long app = app();
    long start = join(log().lastSeq(app));
    List<AppUpdate> a =
        join(
            log().append(app, List.of(change("p", PresenceStatus.ONLINE, 1_700_000_000_123_456L))));
    assertThat(a.get(0).version()).isEqualTo(1_700_000_000_123_456L);
    assertThat(join(log().readSince(app, start, 10)).updates().get(0).version())
        .isEqualTo(1_700_000_000_123_456L);
  }

  @Test
  void staleChange_ofTheSamePuid_isDroppedWithoutANumber() {
    long app = app();
    AppUpdateLog other = peer(log());
    long start = join(log().lastSeq(app));
    long v = 1_700_000_000_000_000L;
    assertThat(join(log().append(app, List.of(change("p", PresenceStatus.AWAY, v + 2)))))
        .hasSize(1);
    // The older change made on another node arrives after the newer one: dropped.
    assertThat(join(other.append(app, List.of(change("p", PresenceStatus.ONLINE, v + 1)))))
        .isEmpty();
    assertThat(join(other.append(app, List.of(change("p", PresenceStatus.AWAY, v + 2))))).isEmpty();
    // Other PUIDs and newer versions go on, numbered consecutively.
    List<AppUpdate> next =
        join(
            log()
                .append(
                    app,
                    List.of(
                        change("q", PresenceStatus.ONLINE, v + 1),
                        change("p", PresenceStatus.ONLINE, v + 3))));
    assertThat(next).extracting(AppUpdate::seq).containsExactly(start + 2, start + 3);
    assertThat(join(log().readSince(app, start, 10)).updates())
        .extracting(AppUpdate::puid, AppUpdate::status)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("p", PresenceStatus.AWAY),
            org.assertj.core.groups.Tuple.tuple("q", PresenceStatus.ONLINE),
            org.assertj.core.groups.Tuple.tuple("p", PresenceStatus.ONLINE));
  }

  @Test
  void pause_isTakenOnce_thenChangesAreDroppedUntilResume() {
    long app = app();
    AppUpdateLog other = peer(log());
    long v = 1_700_000_000_000_000L;
    join(log().append(app, List.of(change("p", PresenceStatus.ONLINE, v))));
    List<AppUpdate> paused =
        join(
            log().append(app, List.of(kind("p", PresenceStatus.OFFLINE, 0, AppUpdate.Kind.PAUSE))));
    assertThat(paused).extracting(AppUpdate::status).containsExactly(PresenceStatus.OFFLINE);
    assertThat(
            join(
                other.append(
                    app, List.of(kind("p", PresenceStatus.OFFLINE, 0, AppUpdate.Kind.PAUSE)))))
        .isEmpty();
    // A node that has not heard of the pause yet cannot slip a change in.
    assertThat(join(other.append(app, List.of(change("p", PresenceStatus.AWAY, v + 5))))).isEmpty();
    assertThat(join(other.append(app, List.of(change("other", PresenceStatus.AWAY, v + 5)))))
        .hasSize(1);
    // Resume is taken whatever its version, then newer changes flow again.
    List<AppUpdate> resumed =
        join(
            log().append(app, List.of(kind("p", PresenceStatus.ONLINE, v, AppUpdate.Kind.RESUME))));
    assertThat(resumed).extracting(AppUpdate::status).containsExactly(PresenceStatus.ONLINE);
    assertThat(join(other.append(app, List.of(change("p", PresenceStatus.ONLINE, v))))).isEmpty();
    assertThat(join(other.append(app, List.of(change("p", PresenceStatus.AWAY, v + 6)))))
        .hasSize(1);
  }

  @Test
  void resume_ofAnOfflineUser_unpausesSilently() {
    long app = app();
    join(log().append(app, List.of(kind("p", PresenceStatus.OFFLINE, 0, AppUpdate.Kind.PAUSE))));
    assertThat(
            join(
                log()
                    .append(
                        app, List.of(kind("p", PresenceStatus.OFFLINE, 0, AppUpdate.Kind.RESUME)))))
        .isEmpty();
    assertThat(join(log().append(app, List.of(change("p", PresenceStatus.ONLINE, 9))))).hasSize(1);
  }

  @Test
  void resume_ofAPuidNotPaused_isAChange() {
    long app = app();
    join(log().append(app, List.of(change("p", PresenceStatus.ONLINE, 7))));
    assertThat(
            join(
                log()
                    .append(
                        app, List.of(kind("p", PresenceStatus.ONLINE, 7, AppUpdate.Kind.RESUME)))))
        .isEmpty();
    assertThat(
            join(
                log()
                    .append(
                        app, List.of(kind("p", PresenceStatus.AWAY, 8, AppUpdate.Kind.RESUME)))))
        .hasSize(1);
  }

  @Test
  void aBoundedLog_dropsItsOldestUpdates_andReadersBeforeThemAreToldTooOld() {
    AppUpdateLog small = bounded(10);
    long app = app();
    long start = join(small.lastSeq(app));
    List<AppUpdate> written =
        join(
            small.append(
                app,
                IntStream.range(0, 25)
                    .mapToObj(i -> upd("p" + i, PresenceStatus.ONLINE))
                    .toList()));
    long last = written.get(24).seq();
    assertThat(join(small.readSince(app, start, 100)).outcome())
        .isEqualTo(AppUpdateLog.Outcome.TOO_OLD);
    AppUpdateLog.Read tail = join(small.readSince(app, last - 10, 100));
    assertThat(tail.outcome()).isEqualTo(AppUpdateLog.Outcome.OK);
    assertThat(tail.updates()).hasSize(10);
    assertThat(join(small.readSince(app, last - 11, 100)).outcome())
        .isEqualTo(AppUpdateLog.Outcome.TOO_OLD);
  }

  @Test
  void unversionedChanges_areNeverStale() {
    long app = app();
    assertThat(
            join(
                log()
                    .append(
                        app,
                        List.of(upd("p", PresenceStatus.ONLINE), upd("p", PresenceStatus.ONLINE)))))
        .hasSize(2);
  }

  @Test
  void aNewerChange_showingWhatWasLastLogged_isNotLoggedAgain_andStillDropsOlderOnes() {
    // Issue 13 section 5: online v1 logged, the newer online v3 arrives before away v2 (two
    // nodes): before, v3 was logged again (online, online) and v2 dropped. Now the sequence never
    // repeats a presence and ends on the newest one.
    long app = app();
    AppUpdateLog other = peer(log());
    long start = join(log().lastSeq(app));
    long v = 1_700_000_000_000_000L;
    assertThat(join(log().append(app, List.of(change("p", PresenceStatus.ONLINE, v + 1)))))
        .hasSize(1);
    assertThat(join(other.append(app, List.of(change("p", PresenceStatus.ONLINE, v + 3)))))
        .isEmpty();
    assertThat(join(log().append(app, List.of(change("p", PresenceStatus.AWAY, v + 2))))).isEmpty();
    assertThat(join(other.append(app, List.of(change("p", PresenceStatus.AWAY, v + 4)))))
        .hasSize(1);
    // Within one call too; the message is part of the presence.
    assertThat(
            join(
                log()
                    .append(
                        app,
                        List.of(
                            change("p", PresenceStatus.AWAY, v + 5),
                            new AppUpdate.New(
                                "p", PresenceStatus.AWAY, "lunch", v + 6, AppUpdate.Kind.CHANGE)))))
        .extracting(AppUpdate::message)
        .containsExactly("lunch");
    assertThat(join(log().readSince(app, start, 10)).updates())
        .extracting(AppUpdate::status, AppUpdate::message)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(PresenceStatus.ONLINE, ""),
            org.assertj.core.groups.Tuple.tuple(PresenceStatus.AWAY, ""),
            org.assertj.core.groups.Tuple.tuple(PresenceStatus.AWAY, "lunch"));
  }

  @Test
  void appendAll_numbersEachApplication_andReadsBackAcrossEntries() {
    long a = app();
    long b = app();
    long startA = join(log().lastSeq(a));
    long startB = join(log().lastSeq(b));
    var out =
        join(
            log()
                .appendAll(
                    java.util.Map.of(
                        a,
                        List.of(upd("x", PresenceStatus.ONLINE), upd("y", PresenceStatus.AWAY)),
                        b,
                        List.of(upd("z", PresenceStatus.ONLINE)))));
    assertThat(out.get(a)).extracting(AppUpdate::seq).containsExactly(startA + 1, startA + 2);
    assertThat(out.get(b)).extracting(AppUpdate::seq).containsExactly(startB + 1);
    join(log().append(a, List.of(upd("w", PresenceStatus.ONLINE))));
    // A read starting inside a multi-update entry, and one bounded by the limit.
    assertThat(join(log().readSince(a, startA + 1, 10)).updates())
        .extracting(AppUpdate::seq, AppUpdate::puid)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(startA + 2, "y"),
            org.assertj.core.groups.Tuple.tuple(startA + 3, "w"));
    AppUpdateLog.Read first = join(log().readSince(a, startA, 1));
    assertThat(first.updates()).extracting(AppUpdate::puid).containsExactly("x");
    assertThat(first.more()).isTrue();
  }
}
