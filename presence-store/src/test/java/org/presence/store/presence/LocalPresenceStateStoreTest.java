package org.presence.store.presence;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

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

  @Test
  void users_whenAllReleased_thenNoMemoryKept() {
    LocalPresenceStateStore s = (LocalPresenceStateStore) store;
    java.util.UUID id = java.util.UUID.randomUUID();
    join(s.claim("u", "d", id, "n", 10, 1));
    join(s.update("u", "d", id, org.presence.protocol.model.PresenceStatus.ONLINE, null, null, 2));
    assertThat(s.users()).isEqualTo(1);
    join(s.release("u", "d", id, 3));
    assertThat(s.users()).isZero();
  }
}
