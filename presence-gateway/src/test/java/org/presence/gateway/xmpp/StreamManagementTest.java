package org.presence.gateway.xmpp;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The mapping of acknowledged stanza counts to update numbers (XEP-0198 resumption). */
class StreamManagementTest {

  private static StreamManagement sm() {
    return new StreamManagement("id", 7, "7@d/r");
  }

  @Test
  void anAcknowledgement_movesTheFloorToTheLastUpdateItCovers() {
    StreamManagement s = sm();
    s.snapshotStarted();
    s.sent(3);
    s.mark(100); // the snapshot (3 stanzas) covers up to update 100
    s.sent(1); // an iq result
    s.sent(1);
    s.mark(101);
    s.sent(1);
    s.mark(105);
    assertThat(s.floor).isEqualTo(-1);
    s.acked(s.absolute(2));
    assertThat(s.floor).as("the snapshot is not acknowledged whole").isEqualTo(-1);
    s.acked(s.absolute(4));
    assertThat(s.floor).isEqualTo(100);
    s.acked(s.absolute(5));
    assertThat(s.floor).isEqualTo(101);
    s.resumeFrom(s.absolute(5));
    assertThat(s.floor).as("update 105 was not acknowledged: it is sent again").isEqualTo(101);
    assertThat(s.sentOut).isEqualTo(5);
  }

  @Test
  void anAcknowledgementOfMoreThanWasSent_orLessThanBefore_isRefused() {
    StreamManagement s = sm();
    s.sent(10);
    assertThat(s.absolute(11)).isEqualTo(-1);
    assertThat(s.absolute(-1)).isEqualTo(-1);
    assertThat(s.absolute(1L << 32)).isEqualTo(-1);
    s.acked(s.absolute(6));
    assertThat(s.absolute(5)).as("below the last acknowledgement").isEqualTo(-1);
    assertThat(s.absolute(10)).isEqualTo(10);
  }

  @Test
  void countsWrapAt2To32() {
    StreamManagement s = sm();
    s.sent((int) (((1L << 32) - 2) / 2));
    s.sent((int) (((1L << 32) - 2) / 2));
    s.acked(s.absolute((1L << 32) - 3));
    s.sent(4);
    s.mark(9);
    // 2^32 + 2 sent: the peer says 2.
    assertThat(s.absolute(2)).isEqualTo((1L << 32) + 2);
    s.acked(s.absolute(2));
    assertThat(s.floor).isEqualTo(9);
    s.received();
    assertThat(s.handledIn).isEqualTo(1);
  }

  @Test
  void beyondTheMostMarks_theOldestGo_andAResumptionOnlyStartsEarlier() {
    StreamManagement s = sm();
    s.floor = 0;
    for (int i = 1; i <= StreamManagement.MAX_MARKS + 10; i++) {
      s.sent(1);
      s.mark(i);
    }
    assertThat(s.marks()).isEqualTo(StreamManagement.MAX_MARKS);
    s.acked(s.absolute(5));
    assertThat(s.floor).as("the marks of 1-10 are gone").isEqualTo(0);
    s.acked(s.absolute(20));
    assertThat(s.floor).isEqualTo(20);
    s.detached(1);
    assertThat(s.marks()).isEqualTo(StreamManagement.DETACHED_MARKS);
    s.acked(s.absolute(StreamManagement.MAX_MARKS + 10));
    assertThat(s.floor).isEqualTo(StreamManagement.MAX_MARKS + 10);
  }

  /** XEP-0198's h is an xs:unsignedInt: decimal digits of 0..2^32-1, nothing else. */
  @Test
  void h_isAnUnsigned32BitNumber_elseRefused() {
    assertThat(StreamManagement.parseH("0")).isZero();
    assertThat(StreamManagement.parseH("007")).isEqualTo(7);
    assertThat(StreamManagement.parseH("4294967295")).isEqualTo(4294967295L);
    for (String bad :
        new String[] {
          null, "", "abc", "-1", "+1", " 1", "1 ", "4294967296", "99999999999", "0x10", "1e3", "١"
        }) {
      assertThat(StreamManagement.parseH(bad)).as("h='%s'", bad).isEqualTo(-1);
    }
  }
}
