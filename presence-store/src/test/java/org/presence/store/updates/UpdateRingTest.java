package org.presence.store.updates;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.presence.protocol.model.PresenceStatus;

/** The embedded log's array ring: order, bound, trimming and growth across a wrapped start. */
class UpdateRingTest {
  private static final PresenceStatus[] STATUSES = PresenceStatus.values();

  private static AppUpdate update(int i) {
    return new AppUpdate(
        i,
        "puid-" + i,
        STATUSES[i % STATUSES.length],
        i % 3 == 0 ? "" : "m" + i,
        1_000L + i,
        Instant.ofEpochSecond(1_700_000_000L + i, 123_456_789));
  }

  private static void assertHolds(LocalAppUpdateLog.UpdateRing ring, int from, int to) {
    assertThat(ring.size()).isEqualTo(to - from + 1);
    for (int i = from; i <= to; i++) {
      assertThat(ring.get(i - from, i)).isEqualTo(update(i));
    }
  }

  @Test
  void keepsEveryFieldExactly_inOrder_growingPastItsFirstCapacity() {
    LocalAppUpdateLog.UpdateRing ring = new LocalAppUpdateLog.UpdateRing();
    for (int i = 1; i <= 200; i++) {
      ring.add(update(i), 1_000);
    }
    assertHolds(ring, 1, 200);
  }

  @Test
  void atItsBound_dropsTheOldest() {
    LocalAppUpdateLog.UpdateRing ring = new LocalAppUpdateLog.UpdateRing();
    for (int i = 1; i <= 250; i++) {
      ring.add(update(i), 100);
    }
    assertHolds(ring, 151, 250);
  }

  @Test
  void growsAcrossAWrappedStart_afterTrimming() {
    LocalAppUpdateLog.UpdateRing ring = new LocalAppUpdateLog.UpdateRing();
    for (int i = 1; i <= 64; i++) {
      ring.add(update(i), 1_000);
    }
    // Trim the first 40 (taken before second 41), then add more than the freed room: the ring
    // wraps, then grows with its start in the middle of the arrays.
    ring.trimBefore(LocalAppUpdateLog.UpdateRing.nanos(update(41).at()));
    assertHolds(ring, 41, 64);
    for (int i = 65; i <= 180; i++) {
      ring.add(update(i), 1_000);
    }
    assertHolds(ring, 41, 180);
    ring.trimBefore(LocalAppUpdateLog.UpdateRing.nanos(Instant.ofEpochSecond(1_800_000_000L)));
    assertThat(ring.size()).isZero();
  }
}
