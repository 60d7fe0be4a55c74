package org.presence.store.testing;

import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.presence.store.redis.RedisBackend;

/**
 * One primary of a Redis Cluster made full while this is open: its {@code maxmemory} lowered to
 * half of what it uses ({@code noeviction}), so that it refuses every write with its {@code OOM}
 * answer; closing puts both settings back as they were. The primary is one other than the holder of
 * a key the caller names (the key a check used to write, which would miss it).
 */
public final class FullPrimary implements AutoCloseable {
  private final String id;
  private final RedisClusterAsyncCommands<String, byte[]> node;
  private final Map<String, String> before;

  private FullPrimary(
      String id, RedisClusterAsyncCommands<String, byte[]> node, Map<String, String> before) {
    this.id = id;
    this.node = node;
    this.before = before;
  }

  /**
   * The node id of the full primary, as {@link RedisBackend#primaryOf} names it: a test picks keys
   * on it, or away from it, by their slots.
   */
  public String nodeId() {
    return id;
  }

  /** Fills a primary of {@code cluster} (a Redis Cluster backend) other than {@code key}'s. */
  public static FullPrimary otherThanOf(RedisBackend cluster, String key) throws Exception {
    String owner = cluster.primaryOf(SlotHash.getSlot(key));
    String other =
        cluster.primarySlots().stream()
            .map(cluster::primaryOf)
            .filter(id -> id != null && !id.equals(owner))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no primary but " + owner));
    RedisClusterAsyncCommands<String, byte[]> node =
        cluster.node(other).toCompletableFuture().get(10, TimeUnit.SECONDS);
    Map<String, String> before =
        node.configGet("maxmemory", "maxmemory-policy").get(10, TimeUnit.SECONDS);
    long used =
        node.info("memory")
            .get(10, TimeUnit.SECONDS)
            .lines()
            .filter(l -> l.startsWith("used_memory:"))
            .mapToLong(l -> Long.parseLong(l.substring("used_memory:".length()).trim()))
            .findFirst()
            .orElseThrow();
    FullPrimary full = new FullPrimary(other, node, before);
    try {
      node.configSet("maxmemory-policy", "noeviction").get(10, TimeUnit.SECONDS);
      node.configSet("maxmemory", Long.toString(used / 2)).get(10, TimeUnit.SECONDS);
    } catch (Exception | Error e) {
      full.close();
      throw e;
    }
    return full;
  }

  @Override
  public void close() {
    try {
      node.configSet(before).get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("could not put the primary's maxmemory back", e);
    }
  }
}
