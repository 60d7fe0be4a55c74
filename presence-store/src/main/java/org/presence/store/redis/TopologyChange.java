package org.presence.store.redis;

import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import java.util.BitSet;
import java.util.List;
import java.util.Objects;

/**
 * What a change of a Redis Cluster's topology did to its slots: which slots' primary the client now
 * sees differently, so that what lives on a slot's primary (a shard channel's subscription) is made
 * again only where it has to be.
 *
 * <p>A slot counts as changed when its primary is another node, at another address, or the same
 * node marked failed ({@code fail}, {@code noaddr}) or no longer so, or when it gained or lost a
 * primary. A change of replicas alone changes no slot, nor do the flags that differ with the node
 * whose view was read ({@code myself}, and {@code fail?}, one node's suspicion). Lettuce reports a
 * topology change only when the nodes, their roles or their slots differ; the address and the
 * failure flags count when such a change is reported. A node's connection lost and made again
 * without a change is {@link RedisBackend#onPubSubReconnected}'s business.
 */
public final class TopologyChange {
  private final BitSet slots;

  private TopologyChange(BitSet slots) {
    this.slots = slots;
  }

  /** The change from {@code before} to {@code after}, two views of the cluster's nodes. */
  public static TopologyChange between(
      List<RedisClusterNode> before, List<RedisClusterNode> after) {
    RedisClusterNode[] was = owners(before);
    RedisClusterNode[] now = owners(after);
    BitSet changed = new BitSet(SlotHash.SLOT_COUNT);
    for (int slot = 0; slot < SlotHash.SLOT_COUNT; slot++) {
      if (!samePrimary(was[slot], now[slot])) {
        changed.set(slot);
      }
    }
    return new TopologyChange(changed);
  }

  /** Whether {@code key}'s slot (a key, or a shard channel's Redis name) changed. */
  public boolean moved(String key) {
    return slots.get(SlotHash.getSlot(key));
  }

  /** How many slots changed. */
  public int slotsChanged() {
    return slots.cardinality();
  }

  private static RedisClusterNode[] owners(List<RedisClusterNode> nodes) {
    RedisClusterNode[] owner = new RedisClusterNode[SlotHash.SLOT_COUNT];
    for (RedisClusterNode node : nodes) {
      if (node.is(RedisClusterNode.NodeFlag.UPSTREAM)) {
        for (int slot : node.getSlots()) {
          owner[slot] = node;
        }
      }
    }
    return owner;
  }

  private static boolean samePrimary(RedisClusterNode a, RedisClusterNode b) {
    if (a == null || b == null) {
      return a == b;
    }
    return Objects.equals(a.getNodeId(), b.getNodeId())
        && Objects.equals(address(a), address(b))
        && a.is(RedisClusterNode.NodeFlag.FAIL) == b.is(RedisClusterNode.NodeFlag.FAIL)
        && a.is(RedisClusterNode.NodeFlag.NOADDR) == b.is(RedisClusterNode.NodeFlag.NOADDR);
  }

  private static String address(RedisClusterNode node) {
    return node.getUri() == null ? null : node.getUri().getHost() + ":" + node.getUri().getPort();
  }
}
