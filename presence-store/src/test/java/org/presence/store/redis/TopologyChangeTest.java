package org.presence.store.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode.NodeFlag;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class TopologyChangeTest {
  /** Three primaries splitting the slots in thirds, each with a replica. */
  private static List<RedisClusterNode> threePrimaries() {
    List<RedisClusterNode> nodes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      int from = i * 5461;
      int to = i == 2 ? SlotHash.SLOT_COUNT : from + 5461;
      nodes.add(
          node("p" + i, 7000 + i, IntStream.range(from, to).boxed().toList(), NodeFlag.UPSTREAM));
      nodes.add(node("r" + i, 7100 + i, List.of(), NodeFlag.REPLICA));
    }
    return nodes;
  }

  private static RedisClusterNode node(
      String id, int port, List<Integer> slots, NodeFlag... flags) {
    RedisClusterNode n = RedisClusterNode.of(id);
    n.setUri(RedisURI.create("127.0.0.1", port));
    n.setSlots(slots);
    n.setFlags(EnumSet.copyOf(List.of(flags)));
    return n;
  }

  private static RedisClusterNode find(List<RedisClusterNode> nodes, String id) {
    return nodes.stream().filter(n -> n.getNodeId().equals(id)).findFirst().orElseThrow();
  }

  /** A key in the given slot range, found by trying names. */
  private static String keyIn(int from, int to) {
    for (int i = 0; ; i++) {
      String k = "ch:" + i;
      int slot = SlotHash.getSlot(k);
      if (slot >= from && slot < to) {
        return k;
      }
    }
  }

  @Test
  void theSameView_changesNoSlot() {
    assertThat(TopologyChange.between(threePrimaries(), threePrimaries()).slotsChanged()).isZero();
  }

  @Test
  void aReplicaAddedOrLost_changesNoSlot() {
    List<RedisClusterNode> after = threePrimaries();
    after.removeIf(n -> n.getNodeId().equals("r1"));
    after.add(node("r9", 7109, List.of(), NodeFlag.REPLICA));
    assertThat(TopologyChange.between(threePrimaries(), after).slotsChanged()).isZero();
  }

  @Test
  void aReplicaPromoted_changesItsPrimarysSlotsOnly() {
    List<RedisClusterNode> after = threePrimaries();
    RedisClusterNode failed = find(after, "p1");
    failed.setFlags(EnumSet.of(NodeFlag.REPLICA, NodeFlag.FAIL));
    RedisClusterNode promoted = find(after, "r1");
    promoted.setSlots(IntStream.range(5461, 10922).boxed().toList());
    promoted.setFlags(EnumSet.of(NodeFlag.UPSTREAM));
    failed.setSlots(List.of());
    TopologyChange c = TopologyChange.between(threePrimaries(), after);
    assertThat(c.slotsChanged()).isEqualTo(5461);
    assertThat(c.moved(keyIn(5461, 10922))).isTrue();
    assertThat(c.moved(keyIn(0, 5461))).isFalse();
    assertThat(c.moved(keyIn(10922, SlotHash.SLOT_COUNT))).isFalse();
  }

  @Test
  void aPrimaryMarkedFailing_orBackFromIt_changesItsSlots() {
    List<RedisClusterNode> failing = threePrimaries();
    find(failing, "p0").setFlags(EnumSet.of(NodeFlag.UPSTREAM, NodeFlag.FAIL));
    TopologyChange marked = TopologyChange.between(threePrimaries(), failing);
    assertThat(marked.slotsChanged()).isEqualTo(5461);
    assertThat(marked.moved(keyIn(0, 5461))).isTrue();
    TopologyChange back = TopologyChange.between(failing, threePrimaries());
    assertThat(back.slotsChanged()).isEqualTo(5461);
  }

  @Test
  void theViewOfAnotherNode_orOneNodesSuspicion_changesNoSlot() {
    List<RedisClusterNode> before = threePrimaries();
    find(before, "p0").setFlags(EnumSet.of(NodeFlag.UPSTREAM, NodeFlag.MYSELF));
    List<RedisClusterNode> after = threePrimaries();
    find(after, "p1").setFlags(EnumSet.of(NodeFlag.UPSTREAM, NodeFlag.MYSELF));
    find(after, "p2").setFlags(EnumSet.of(NodeFlag.UPSTREAM, NodeFlag.EVENTUAL_FAIL));
    assertThat(TopologyChange.between(before, after).slotsChanged()).isZero();
  }

  @Test
  void oneSlotResharded_changesThatSlotOnly() {
    String key = keyIn(0, 5461);
    int slot = SlotHash.getSlot(key);
    List<RedisClusterNode> after = threePrimaries();
    List<Integer> p0 = new ArrayList<>(find(after, "p0").getSlots());
    p0.remove(Integer.valueOf(slot));
    find(after, "p0").setSlots(p0);
    List<Integer> p2 = new ArrayList<>(find(after, "p2").getSlots());
    p2.add(slot);
    find(after, "p2").setSlots(p2);
    TopologyChange c = TopologyChange.between(threePrimaries(), after);
    assertThat(c.slotsChanged()).isEqualTo(1);
    assertThat(c.moved(key)).isTrue();
  }

  @Test
  void aPrimaryAtAnotherAddress_changesItsSlots() {
    List<RedisClusterNode> after = threePrimaries();
    find(after, "p2").setUri(RedisURI.create("127.0.0.1", 7202));
    TopologyChange c = TopologyChange.between(threePrimaries(), after);
    assertThat(c.slotsChanged()).isEqualTo(SlotHash.SLOT_COUNT - 2 * 5461);
  }

  @Test
  void slotsWithNoPrimaryThatGainOne_change() {
    List<RedisClusterNode> before = threePrimaries();
    before.removeIf(n -> n.getNodeId().equals("p0"));
    TopologyChange c = TopologyChange.between(before, threePrimaries());
    assertThat(c.slotsChanged()).isEqualTo(5461);
  }
}
