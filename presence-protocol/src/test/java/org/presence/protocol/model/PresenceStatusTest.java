package org.presence.protocol.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PresenceStatusTest {
  @Test
  void fromWire_acceptsTheFourStatusesExactly() {
    assertThat(PresenceStatus.fromWire("online")).contains(PresenceStatus.ONLINE);
    assertThat(PresenceStatus.fromWire("away")).contains(PresenceStatus.AWAY);
    assertThat(PresenceStatus.fromWire("unavailable")).contains(PresenceStatus.UNAVAILABLE);
    assertThat(PresenceStatus.fromWire("offline")).contains(PresenceStatus.OFFLINE);
    assertThat(PresenceStatus.fromWire("Online")).isEmpty();
    assertThat(PresenceStatus.fromWire("busy")).isEmpty();
    assertThat(PresenceStatus.fromWire(null)).isEmpty();
  }

  @Test
  void moreAvailableThan_ordersOnlineAwayUnavailableOffline() {
    assertThat(PresenceStatus.ONLINE.moreAvailableThan(PresenceStatus.AWAY)).isTrue();
    assertThat(PresenceStatus.AWAY.moreAvailableThan(PresenceStatus.UNAVAILABLE)).isTrue();
    assertThat(PresenceStatus.UNAVAILABLE.moreAvailableThan(PresenceStatus.OFFLINE)).isTrue();
    assertThat(PresenceStatus.OFFLINE.moreAvailableThan(PresenceStatus.ONLINE)).isFalse();
    assertThat(PresenceStatus.AWAY.moreAvailableThan(PresenceStatus.AWAY)).isFalse();
  }

  @Test
  void fromPushLetter_acceptsOAU() {
    assertThat(PresenceStatus.fromPushLetter("O")).contains(PresenceStatus.ONLINE);
    assertThat(PresenceStatus.fromPushLetter("A")).contains(PresenceStatus.AWAY);
    assertThat(PresenceStatus.fromPushLetter("U")).contains(PresenceStatus.UNAVAILABLE);
    assertThat(PresenceStatus.fromPushLetter("F")).isEmpty();
    assertThat(PresenceStatus.fromPushLetter("OA")).isEmpty();
  }
}
