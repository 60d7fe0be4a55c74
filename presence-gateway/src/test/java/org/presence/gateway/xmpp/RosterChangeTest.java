package org.presence.gateway.xmpp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The roster changes nodes send each other on the bus. */
class RosterChangeTest {
  @Test
  void encode_writesTheBytesOtherNodesRead_andRoundTrips() {
    RosterChange c = new RosterChange("m1", 42, true, "pA", "Alice Ä");
    assertThat(new String(c.encode(), StandardCharsets.UTF_8)).isEqualTo("m1\t42\t1\tpA\tAlice Ä");
    assertThat(RosterChange.decode(c.encode())).isEqualTo(c);
    RosterChange removed = new RosterChange("m1", 42, false, "pA", "");
    assertThat(new String(removed.encode(), StandardCharsets.UTF_8)).isEqualTo("m1\t42\t0\tpA\t");
    assertThat(RosterChange.decode(removed.encode())).isEqualTo(removed);
    assertThat(RosterChange.CHANNEL).isEqualTo("xmpp-roster");
  }

  @Test
  void encode_sendsATabInTheNameAsASpace() {
    byte[] m = new RosterChange("m1", 1, true, "pA", "a\tb").encode();
    assertThat(RosterChange.decode(m).name()).isEqualTo("a b");
  }

  @Test
  void decode_refusesWhatIsNotARosterChange() {
    for (String bad : new String[] {"", "m1\t42\t1\tpA", "m1\tx\t1\tpA\tn", "m1\t42\t2\tpA\tn"}) {
      assertThatThrownBy(() -> RosterChange.decode(bad.getBytes(StandardCharsets.UTF_8)))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }
}
