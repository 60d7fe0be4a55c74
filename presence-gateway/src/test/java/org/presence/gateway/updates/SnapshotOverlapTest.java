package org.presence.gateway.updates;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.presence.protocol.model.PresenceStatus;

/**
 * The overlap rule's memory ({@link SnapshotOverlap}): what a snapshot showed, packed. Pins the
 * rule case by case (version ties, repeats, offline users, the first update not shown delivers the
 * rest), the PUID packing (exactly the 256 bits; another spelling or form is held apart, never
 * confused), and that its room follows the users listed (deterministic capacities, not measured
 * sizes).
 */
class SnapshotOverlapTest {
  private static final long V = 1_700_000_000_000_000L;
  private final Random random = new Random(42);

  private String puid() {
    byte[] b = new byte[32];
    random.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  @Test
  void anUpdateNotNewerThanTheSnapshotsEntry_isShown_evenWithAnotherStatus() {
    SnapshotOverlap o = new SnapshotOverlap();
    String p = puid();
    o.add(p, PresenceStatus.ONLINE, "", V);
    assertThat(o.shows(p, PresenceStatus.AWAY, "", V - 1)).isTrue();
    // A tie is the same change.
    assertThat(o.shows(p, PresenceStatus.AWAY, "lunch", V)).isTrue();
  }

  @Test
  void aNewerUpdate_thatRepeatsTheEntry_isShown_andOneThatDoesNot_deliversTheUserFromThenOn() {
    SnapshotOverlap o = new SnapshotOverlap();
    String p = puid();
    o.add(p, PresenceStatus.AWAY, "lunch", V);
    assertThat(o.shows(p, PresenceStatus.AWAY, "lunch", V + 5)).isTrue();
    assertThat(o.shows(p, PresenceStatus.AWAY, "", V + 6)).isFalse();
    // Once one update was not shown, none after it is (even an older or a repeating one).
    assertThat(o.shows(p, PresenceStatus.AWAY, "lunch", V - 1)).isFalse();
    assertThat(o.shows(p, PresenceStatus.AWAY, "", V + 6)).isFalse();
  }

  @Test
  void versionZero_isComparedByStatusAndMessageOnly() {
    SnapshotOverlap o = new SnapshotOverlap();
    String p = puid();
    o.add(p, PresenceStatus.ONLINE, null, 0);
    assertThat(o.shows(p, PresenceStatus.ONLINE, "", 0)).isTrue();
    assertThat(o.shows(p, PresenceStatus.AWAY, "", 0)).isFalse();
  }

  @Test
  void aUserTheSnapshotLeftOut_offlineIsShown_anythingElseDeliversTheUser() {
    SnapshotOverlap o = new SnapshotOverlap();
    String listed = puid();
    o.add(listed, PresenceStatus.ONLINE, "", V);
    String offline = puid();
    assertThat(o.shows(offline, PresenceStatus.OFFLINE, "", V + 1)).isTrue();
    assertThat(o.shows(offline, PresenceStatus.ONLINE, "", V + 2)).isFalse();
    assertThat(o.shows(offline, PresenceStatus.OFFLINE, "", V + 3)).isFalse();
    assertThat(o.size()).isEqualTo(1);
  }

  @Test
  void puidsOfAnotherForm_orASecondSpellingOfTheSameBits_areHeldApart() {
    SnapshotOverlap o = new SnapshotOverlap();
    String p = puid();
    // The last character carries 4 bits and 2 spare ones: a second spelling sets a spare bit.
    char last = p.charAt(42);
    String other = p.substring(0, 42) + (char) (last == 'A' ? 'B' : last + 1);
    o.add(p, PresenceStatus.ONLINE, "", V);
    o.add("short-puid", PresenceStatus.AWAY, "m", V);
    o.add("ü" + p.substring(1), PresenceStatus.AWAY, "", V);
    assertThat(o.size()).isEqualTo(3);
    assertThat(o.shows(other, PresenceStatus.OFFLINE, "", V + 1)).isTrue();
    assertThat(o.shows(other, PresenceStatus.AWAY, "", V + 1)).isFalse();
    assertThat(o.shows(p, PresenceStatus.ONLINE, "", V + 1)).isTrue();
    assertThat(o.shows("short-puid", PresenceStatus.AWAY, "m", V + 1)).isTrue();
    assertThat(o.shows("short-puid", PresenceStatus.AWAY, "n", V + 1)).isFalse();
    assertThat(o.shows("short-puid", PresenceStatus.AWAY, "m", V + 1)).isFalse();
    // A version beyond what packs is held apart too, and compared in full.
    String big = puid();
    o.add(big, PresenceStatus.ONLINE, "", Long.MAX_VALUE);
    assertThat(o.shows(big, PresenceStatus.AWAY, "", Long.MAX_VALUE - 1)).isTrue();
  }

  @Test
  void decode_takesExactlyThe256Bits() {
    for (int i = 0; i < 200; i++) {
      byte[] b = new byte[32];
      random.nextBytes(b);
      long[] out = new long[4];
      assertThat(
              SnapshotOverlap.decode(
                  Base64.getUrlEncoder().withoutPadding().encodeToString(b), out))
          .isTrue();
      ByteBuffer want = ByteBuffer.wrap(b);
      for (int w = 0; w < 4; w++) {
        assertThat(out[w]).isEqualTo(want.getLong());
      }
    }
    assertThat(SnapshotOverlap.decode("x".repeat(42), new long[4])).isFalse();
    assertThat(SnapshotOverlap.decode("x".repeat(42) + "=", new long[4])).isFalse();
  }

  @Test
  void manyUsers_eachFoundWithItsOwnEntry_andTheRoomFollowsTheirNumber() {
    SnapshotOverlap o = new SnapshotOverlap();
    List<String> puids = new ArrayList<>();
    int n = 20_000;
    for (int i = 0; i < n; i++) {
      String p = puid();
      puids.add(p);
      PresenceStatus s = i % 3 == 0 ? PresenceStatus.AWAY : PresenceStatus.ONLINE;
      o.add(p, s, i % 10 == 0 ? "m" + i : "", V + i);
    }
    o.trim();
    assertThat(o.size()).isEqualTo(n);
    assertThat(o.capacity()).isEqualTo(n);
    // Load at most three quarters: 20,000 users in 32,768 slots.
    assertThat(o.tableCapacity()).isEqualTo(32_768);
    // 32 bytes of PUID, 8 of status and version, 4 of message reference, 4 a slot.
    assertThat(o.arrayBytes()).isEqualTo(32L * n + 8L * n + 4L * n + 4L * 32_768);
    for (int i = 0; i < n; i++) {
      PresenceStatus s = i % 3 == 0 ? PresenceStatus.AWAY : PresenceStatus.ONLINE;
      String m = i % 10 == 0 ? "m" + i : "";
      assertThat(o.shows(puids.get(i), s, m, V + i + 1)).as("user %d", i).isTrue();
      assertThat(o.shows(puids.get(i), PresenceStatus.UNAVAILABLE, m, V + i + 1)).isFalse();
    }
  }

  @Test
  void withoutAnyMessage_noMessageArrayIsHeld() {
    SnapshotOverlap o = new SnapshotOverlap();
    for (int i = 0; i < 100; i++) {
      o.add(puid(), PresenceStatus.ONLINE, "", V);
    }
    o.trim();
    assertThat(o.arrayBytes()).isEqualTo(32L * 100 + 8L * 100 + 4L * 256);
  }
}
