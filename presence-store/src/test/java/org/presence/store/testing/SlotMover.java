package org.presence.store.testing;

import io.lettuce.core.MigrateArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.models.partitions.ClusterPartitionParser;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Moves a hash slot of a Redis Cluster from the primary that holds it to another, the way {@code
 * redis-cli --cluster reshard} does (the steps of the Redis Cluster specification, "Live
 * resharding"): the target marks the slot importing, the source migrating, the slot's keys go
 * across with {@code MIGRATE}, then every primary is told the slot's new owner. The keys go one at
 * a time with a pause between them, so that clients working meanwhile find the slot half moved:
 * some keys on the source, the others on the target.
 */
public final class SlotMover implements AutoCloseable {
  private final RedisClient client = RedisClient.create();
  private final Map<Integer, StatefulRedisConnection<String, String>> byPort =
      new LinkedHashMap<>();

  /** Per slot being moved: the ports of its old and new primary. */
  private final Map<Integer, int[]> moving = new LinkedHashMap<>();

  /** A mover for the cluster whose primaries listen on {@code ports} (loopback, no password). */
  public SlotMover(List<Integer> ports) {
    for (int port : ports) {
      byPort.put(port, client.connect(RedisURI.create("127.0.0.1", port)));
    }
  }

  private RedisCommands<String, String> on(int port) {
    return byPort.get(port).sync();
  }

  private List<RedisClusterNode> primaries() {
    List<RedisClusterNode> out = new ArrayList<>();
    int any = byPort.keySet().iterator().next();
    for (RedisClusterNode n : ClusterPartitionParser.parse(on(any).clusterNodes())) {
      if (n.is(RedisClusterNode.NodeFlag.UPSTREAM) && byPort.containsKey(n.getUri().getPort())) {
        out.add(n);
      }
    }
    return out;
  }

  /** The port of the primary that holds {@code slot}. */
  public int ownerOf(int slot) {
    for (RedisClusterNode n : primaries()) {
      if (n.hasSlot(slot)) {
        return n.getUri().getPort();
      }
    }
    throw new IllegalStateException("no primary holds slot " + slot);
  }

  /** A primary other than the one holding {@code slot}. */
  public int otherThan(int slot) {
    int owner = ownerOf(slot);
    for (int port : byPort.keySet()) {
      if (port != owner) {
        return port;
      }
    }
    throw new IllegalStateException("a cluster of one primary");
  }

  /**
   * Moves {@code slot} to the primary on {@code toPort}, a key at a time with {@code pause} after
   * each, and returns once every primary names the new owner.
   */
  public void move(int slot, int toPort, Duration pause) throws InterruptedException {
    if (ownerOf(slot) == toPort) {
      return;
    }
    begin(slot, toPort);
    while (true) {
      List<String> keys = on(moving.get(slot)[0]).clusterGetKeysInSlot(slot, 1);
      if (keys.isEmpty()) {
        break;
      }
      migrate(slot, keys.get(0));
      Thread.sleep(pause.toMillis());
    }
    finish(slot);
  }

  /**
   * Moves {@code slot} to another primary and back ({@link #move}, {@code pause} after each key),
   * while a test's load thread works: it waits for five of the thread's {@code rounds} before the
   * first move, between the two and after the second.
   */
  public void awayAndBack(int slot, Duration pause, Rounds rounds) throws InterruptedException {
    int home = ownerOf(slot);
    rounds.awaitMore(5);
    move(slot, otherThan(slot), pause);
    rounds.awaitMore(5);
    move(slot, home, pause);
    rounds.awaitMore(5);
  }

  /**
   * Starts moving {@code slot} to the primary on {@code toPort}: the new primary imports it, the
   * old one migrates it. Its keys stay where they are until {@link #migrate}d.
   */
  public void begin(int slot, int toPort) {
    int fromPort = ownerOf(slot);
    on(toPort).clusterSetSlotImporting(slot, on(fromPort).clusterMyId());
    on(fromPort).clusterSetSlotMigrating(slot, on(toPort).clusterMyId());
    moving.put(slot, new int[] {fromPort, toPort});
  }

  /** Moves {@code key} of {@code slot}, which {@link #begin} started moving, to the new primary. */
  public void migrate(int slot, String key) {
    int[] ports = moving.get(slot);
    on(ports[0]).migrate("127.0.0.1", ports[1], 0, 5_000, MigrateArgs.Builder.keys(key));
  }

  /**
   * Ends moving {@code slot}: any key still on the old primary goes across first (as {@code
   * redis-cli --cluster reshard} ends), then every primary is told the new owner; returns once they
   * all name it. (A test may move a slot's keys it knows of one by one; the code under test may
   * hold others in the slot. The old primary refuses to give up a slot it holds keys of, unless the
   * new owner's claim reached it first and it dropped them: a race a test must not depend on.)
   */
  public void finish(int slot) throws InterruptedException {
    int[] ports = moving.get(slot);
    int fromPort = ports[0];
    int toPort = ports[1];
    for (List<String> keys = on(fromPort).clusterGetKeysInSlot(slot, 100);
        !keys.isEmpty();
        keys = on(fromPort).clusterGetKeysInSlot(slot, 100)) {
      on(fromPort)
          .migrate(
              "127.0.0.1", toPort, 0, 5_000, MigrateArgs.Builder.keys(keys.toArray(String[]::new)));
    }
    moving.remove(slot);
    String toId = on(toPort).clusterMyId();
    on(toPort).clusterSetSlotNode(slot, toId);
    on(fromPort).clusterSetSlotNode(slot, toId);
    for (int port : byPort.keySet()) {
      if (port != fromPort && port != toPort) {
        on(port).clusterSetSlotNode(slot, toId);
      }
    }
    RedisServers.await(
        "every primary to name the slot's new owner",
        () -> primaries().stream().allMatch(n -> n.hasSlot(slot) == (n.getNodeId().equals(toId))),
        () -> on(fromPort).clusterNodes());
  }

  @Override
  public void close() {
    byPort.values().forEach(StatefulRedisConnection::close);
    client.shutdown();
  }
}
