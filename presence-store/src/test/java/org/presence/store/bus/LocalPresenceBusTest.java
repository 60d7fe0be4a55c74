package org.presence.store.bus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LocalPresenceBusTest extends PresenceBusContract {
  @Override
  protected PresenceBus open() {
    return new LocalPresenceBus();
  }

  @Override
  protected PresenceBus openPeer() {
    return bus;
  }

  @Test
  void kind_isLocal() {
    assertThat(bus.kind()).isEqualTo("local");
  }

  @Test
  void ping_whenClosed_thenFails() {
    bus.close();
    assertThatThrownBy(() -> join(bus.ping())).hasMessageContaining("bus closed");
  }
}
