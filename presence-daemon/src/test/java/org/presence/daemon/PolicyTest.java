package org.presence.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.client.PresenceStatus.AWAY;
import static org.presence.client.PresenceStatus.OFFLINE;
import static org.presence.client.PresenceStatus.ONLINE;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class PolicyTest {
  private static Duration min(double m) {
    return Duration.ofSeconds((long) (m * 60));
  }

  @Test
  void thresholds_giveOnlineAwayOffline() {
    Policy p = new Policy(5, 10, 25, "", "");
    assertThat(p.statusFor(Duration.ZERO, null)).isEqualTo(ONLINE);
    assertThat(p.statusFor(min(4.9), AWAY)).isEqualTo(ONLINE);
    assertThat(p.statusFor(min(10), ONLINE)).isEqualTo(AWAY);
    assertThat(p.statusFor(min(24.9), ONLINE)).isEqualTo(AWAY);
    assertThat(p.statusFor(min(25), AWAY)).isEqualTo(OFFLINE);
    assertThat(p.statusFor(Duration.ofDays(3), null)).isEqualTo(OFFLINE);
  }

  @Test
  void betweenOnlineWithinAndAwayAfter_theStatusStays_onlineAtFirst() {
    Policy p = new Policy(5, 15, 25, "", "");
    assertThat(p.statusFor(min(7), ONLINE)).isEqualTo(ONLINE);
    assertThat(p.statusFor(min(7), AWAY)).isEqualTo(AWAY);
    assertThat(p.statusFor(min(7), null)).isEqualTo(ONLINE);
  }

  @Test
  void awayAfterShorterThanOnlineWithin_awayWins() {
    Policy p = new Policy(20, 5, 10, "", "");
    assertThat(p.statusFor(min(6), ONLINE)).isEqualTo(AWAY);
    assertThat(p.statusFor(min(4), AWAY)).isEqualTo(ONLINE);
  }

  @Test
  void settingsAnswer_isParsed_badOnesAreNot() {
    assertThat(
            PresenceDaemon.parsePolicy(
                "{\"online_within_minutes\":10,\"away_after_minutes\":15,"
                    + "\"offline_after_minutes\":35,\"custom_status\":\"Here\","
                    + "\"away_message\":\"Gone\",\"extra\":[1,{\"a\":2}]}"))
        .isEqualTo(new Policy(10, 15, 35, "Here", "Gone"));
    assertThat(
            PresenceDaemon.parsePolicy(
                "{\"online_within_minutes\":5,\"away_after_minutes\":10,\"offline_after_minutes\":25}"))
        .isEqualTo(Policy.DEFAULTS);
    assertThat(PresenceDaemon.parsePolicy("{\"online_within_minutes\":5}")).isNull();
    assertThat(PresenceDaemon.parsePolicy("[1]")).isNull();
    assertThat(PresenceDaemon.parsePolicy("{\"online_within_minutes\":\"x\"")).isNull();
    assertThat(PresenceDaemon.parsePolicy("<html>")).isNull();
  }
}
