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

  private static AppUpdate withMessage(int i, String message) {
    return new AppUpdate(
        i, "puid-" + (i % 7), STATUSES[i % STATUSES.length], message, i, Instant.ofEpochSecond(i));
  }

  /** A message of 0 to 80 code points, some of them two, three and four UTF-8 bytes long. */
  private static String message(int i) {
    StringBuilder b = new StringBuilder();
    for (int k = 0; k < (i * 37) % 81; k++) {
      switch ((i + k) % 4) {
        case 0 -> b.append((char) ('a' + k % 26));
        case 1 -> b.append('\u00e9');
        case 2 -> b.append('\u20ac');
        default -> b.appendCodePoint(0x1F600 + k % 16);
      }
    }
    return b.toString();
  }

  @Test
  void messagesOfEveryLength_wrapAroundTheirByteArray_andComeBackExactly() {
    LocalAppUpdateLog.UpdateRing ring = new LocalAppUpdateLog.UpdateRing();
    // Bounded at 50: from the 51st on, each add drops the oldest, so the message bytes go round
    // their array many times and some messages straddle its end.
    for (int i = 1; i <= 2_000; i++) {
      ring.add(withMessage(i, message(i)), 50);
      int oldest = Math.max(1, i - 49);
      assertThat(ring.get(0, oldest)).isEqualTo(withMessage(oldest, message(oldest)));
      assertThat(ring.get(i - oldest, i)).isEqualTo(withMessage(i, message(i)));
    }
    for (int i = 1_951; i <= 2_000; i++) {
      assertThat(ring.get(i - 1_951, i)).isEqualTo(withMessage(i, message(i)));
    }
  }

  @Test
  void messageBytes_shrinkBackAfterATrimLeavesThemMostlyEmpty_keepingWhatIsLeft() {
    LocalAppUpdateLog.UpdateRing ring = new LocalAppUpdateLog.UpdateRing();
    String longOne = "x".repeat(500);
    for (int i = 1; i <= 1_000; i++) {
      ring.add(withMessage(i, i > 990 ? "kept " + i : longOne), 10_000);
    }
    int grown = ring.textCapacity();
    assertThat(grown).isGreaterThanOrEqualTo(500_000);
    // Drop all but the last ten (taken from second 991 on); each trim may halve the array once.
    ring.trimBefore(LocalAppUpdateLog.UpdateRing.nanos(Instant.ofEpochSecond(991)));
    for (int k = 0; k < 20; k++) {
      ring.trimBefore(LocalAppUpdateLog.UpdateRing.nanos(Instant.ofEpochSecond(991)));
    }
    assertThat(ring.textCapacity()).isLessThan(grown).isEqualTo(1024);
    for (int i = 991; i <= 1_000; i++) {
      assertThat(ring.get(i - 991, i)).isEqualTo(withMessage(i, "kept " + i));
    }
    ring.add(withMessage(1_001, longOne), 10_000);
    assertThat(ring.get(10, 1_001)).isEqualTo(withMessage(1_001, longOne));
  }

  @Test
  void messagesWithUnpairedSurrogates_comeBackExactly_asEveryStatus() {
    String[] odd = {
      "a\ud800", "\udc00b", "x\udc00\ud800y", "\ud83d\ude00 ok \ud83d", "\ud800\ud800", "plain"
    };
    LocalAppUpdateLog.UpdateRing ring = new LocalAppUpdateLog.UpdateRing();
    // Bounded at 7, so these messages also wrap round the byte array.
    for (int i = 1; i <= 300; i++) {
      ring.add(withMessage(i, odd[i % odd.length] + i), 7);
      for (int k = Math.max(1, i - 6); k <= i; k++) {
        assertThat(ring.get(k - Math.max(1, i - 6), k))
            .isEqualTo(withMessage(k, odd[k % odd.length] + k));
      }
    }
    assertThat(LocalAppUpdateLog.UpdateRing.hasUnpairedSurrogate("\ud83d\ude00")).isFalse();
    assertThat(LocalAppUpdateLog.UpdateRing.hasUnpairedSurrogate("\ude00\ud83d")).isTrue();
  }
}
