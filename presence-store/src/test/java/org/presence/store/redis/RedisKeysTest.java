package org.presence.store.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.cluster.SlotHash;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.presence.store.updates.AppUpdateBatchCodec;

class RedisKeysTest {
  private final RedisKeys keys = new RedisKeys("p:");

  @Test
  void aUsersKeys_shareTheUsersSlot() {
    int slot = SlotHash.getSlot(keys.presence("alice"));
    assertThat(SlotHash.getSlot(keys.user("nq", "alice") + ":42")).isEqualTo(slot);
    assertThat(SlotHash.getSlot(keys.user("nqa", "alice"))).isEqualTo(slot);
    assertThat(keys.presence("alice")).isEqualTo("p:pres:{u:alice}");
  }

  @Test
  void anApplicationsKeysAndUpdateChannel_shareItsSlot() {
    int slot = SlotHash.getSlot(keys.app("ulog", 42));
    for (String k :
        List.of(
            keys.app("useq", 42),
            keys.app("ustate", 42),
            keys.app("uidx", 42),
            keys.app("uguards", 42) + ":123",
            keys.channel(AppUpdateBatchCodec.channel(42)))) {
      assertThat(SlotHash.getSlot(k)).as(k).isEqualTo(slot);
    }
  }

  @Test
  void theHealthKeyOfEverySlot_isInThatSlot() {
    List<String> wrong = new ArrayList<>();
    for (int slot = 0; slot < SlotHash.SLOT_COUNT; slot++) {
      String key = keys.health(slot);
      if (!key.startsWith("p:health:{") || SlotHash.getSlot(key) != slot) {
        wrong.add(slot + " " + key);
      }
    }
    assertThat(wrong).isEmpty();
  }

  @Test
  void channels_roundTrip_andUntaggedOnesAreTaggedByTheirName() {
    for (String c : List.of("cache-invalidate", "receipts:7", AppUpdateBatchCodec.channel(7))) {
      assertThat(keys.unchannel(keys.channel(c))).isEqualTo(c);
    }
    assertThat(keys.channel("cache-invalidate")).isEqualTo("p:ch:{cache-invalidate}");
    assertThat(keys.unchannel("other:ch:x")).isNull();
  }

  @Test
  void aGroupsKeys_shareOneSlot() {
    assertThat(SlotHash.getSlot(keys.group("nodes", "node", "n1")))
        .isEqualTo(SlotHash.getSlot(keys.group("nodes", "nodes", "")))
        .isEqualTo(SlotHash.getSlot(keys.group("nodes", "node", "another")));
  }

  @Test
  void aPrefixWithBraces_isRefused() {
    assertThatThrownBy(() -> new RedisKeys("p:{x}:"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must not contain { or }");
  }
}
