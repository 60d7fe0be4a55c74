package org.presence.store.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.protocol.model.PresenceStatus.OFFLINE;
import static org.presence.protocol.model.PresenceStatus.ONLINE;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.presence.store.updates.AppUpdate;
import org.presence.store.updates.AppUpdateLog;
import org.presence.store.updates.LocalAppUpdateLog;

class LocalPresenceStateStoreTest extends PresenceStateStoreContract {
  @Override
  protected PresenceStateStore open() {
    return new LocalPresenceStateStore();
  }

  @Override
  protected PresenceStateStore openPeer() {
    return store;
  }

  @Test
  void kind_isLocal() {
    assertThat(store.kind()).isEqualTo("local");
  }

  /**
   * A user whose devices are all gone keeps the version alone, for the update log's retention
   * counted from the version's time; a later call drops it, and the user's next version is drawn
   * from the clock as for a new user.
   */
  @Test
  void users_whenAllReleased_thenTheVersionAloneKeptForTheLogsRetention() {
    LocalPresenceStateStore s = (LocalPresenceStateStore) store;
    UUID id = UUID.randomUUID();
    long t = 1_700_000_000_000L;
    join(s.claim("u", "d", id, "n", 10, t));
    join(s.update("u", "d", id, ONLINE, null, null, t + 1));
    assertThat(s.users()).isEqualTo(1);
    long offline = join(s.release("u", "d", id, t + 2)).changes().get(0).version();
    assertThat(offline).isEqualTo((t + 2) * 1000);
    assertThat(s.users()).as("the version kept").isEqualTo(1);
    assertThat(join(s.devices("u"))).isEmpty();
    assertThat(join(s.presence("u")).allApps().sameAs(PresenceView.OFFLINE)).isTrue();

    long keep = AppUpdateLog.RETENTION.toMillis();
    // Any call with a time drops what is due: here another user's release, of nothing.
    join(s.release("other", "d", id, t + 2 + keep - 1));
    assertThat(s.users()).as("still needed").isEqualTo(1);
    join(s.release("other", "d", id, t + 2 + keep));
    assertThat(s.users()).as("dropped once the log may have forgotten it").isZero();

    long later = t + 2 + keep + 5;
    join(s.claim("u", "d", id, "n", 10, later));
    assertThat(join(s.update("u", "d", id, ONLINE, null, null, later)).changes().get(0).version())
        .isEqualTo(later * 1000);
  }

  /**
   * The point of the floor, through the update log's per-PUID guard: a user whose last device went
   * and who is back in the same millisecond is shown online again. With the version drawn from the
   * clock alone, the online change had a lower version than the offline one, and the guard dropped
   * it: the application kept showing the user offline.
   */
  @Test
  void updateLog_whenTheUserIsBackInTheSameMillisecond_thenTakesTheOnlineChange() {
    long t = 1_700_000_000_000L;
    LocalAppUpdateLog log =
        new LocalAppUpdateLog(
            Clock.fixed(Instant.ofEpochMilli(t), ZoneOffset.UTC), AppUpdateLog.RETENTION);
    long start = join(log.lastSeq(42));
    UUID first = UUID.randomUUID();
    UUID second = UUID.randomUUID();
    join(store.claim("u", "phone", first, "n", 10, t));
    logged(log, join(store.update("u", "phone", first, ONLINE, null, null, t)));
    logged(log, join(store.release("u", "phone", first, t)));
    join(store.claim("u", "phone", second, "n", 10, t));
    logged(log, join(store.update("u", "phone", second, ONLINE, null, null, t)));
    assertThat(join(log.readSince(42, start, 10)).updates())
        .extracting(AppUpdate::status)
        .containsExactly(ONLINE, OFFLINE, ONLINE);
  }

  /** Appends {@code u}'s change to application 42's log, as the gateway's fan-out would. */
  private static void logged(LocalAppUpdateLog log, PresenceUpdate u) {
    assertThat(u.changes()).hasSize(1);
    PresenceChange c = u.changes().get(0);
    join(
        log.append(
            42,
            List.of(
                new AppUpdate.New("puid", c.status(), "", c.version(), AppUpdate.Kind.CHANGE))));
  }

  /** presence.lua keeps a floor as long as {@link PresenceAggregator#FLOOR_KEEP_MILLIS}. */
  @Test
  void floorKeep_isTheScriptsToo() {
    Matcher m =
        Pattern.compile("local FLOOR_KEEP_MS = (\\d+)").matcher(RedisPresenceStateStore.RULES);
    assertThat(m.find()).isTrue();
    assertThat(Long.parseLong(m.group(1))).isEqualTo(PresenceAggregator.FLOOR_KEEP_MILLIS);
  }
}
