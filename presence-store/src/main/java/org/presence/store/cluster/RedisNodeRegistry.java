package org.presence.store.cluster;

import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.RedisErrors;
import org.presence.store.redis.RedisKeys;
import org.presence.store.redis.RedisScript;

/**
 * {@link NodeRegistry} in Redis: a lease key per node ({@code <prefix>node:{nodes}<id>}, expiring
 * with the lease), the set of nodes that took a lease ({@code <prefix>nodes:{nodes}}), and the hash
 * of clean-ups in progress ({@code <prefix>nodes:cleaning:{nodes}}: dead node to claimer). The
 * scripts read the leases of every node, so all these keys share the hash tag {@code {nodes}}: one
 * slot on a Redis Cluster (they are few: one lease per node, renewed every heartbeat). A node in
 * the set whose lease key is gone is dead; the claim records the claimer in the same script that
 * checks the lease and any earlier claimer's lease, so one live claimer holds it at a time, and a
 * claimer that dies mid-way hands the clean-up to the next survivor. The clean-up's end removes the
 * dead node from the set.
 */
public final class RedisNodeRegistry implements NodeRegistry {
  /**
   * KEYS: lease key, node set, cleaning hash; ARGV: node id, lease ms. 1 when the lease went on:
   * the node was in the set and nobody was cleaning up after it.
   */
  private static final String HEARTBEAT =
      """
      redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
      local was_cleaned = redis.call('HDEL', KEYS[3], ARGV[1])
      local added = redis.call('SADD', KEYS[2], ARGV[1])
      if added == 0 and was_cleaned == 0 then
        return 1
      end
      return 0
      """;

  /**
   * KEYS: node set, cleaning hash; ARGV: lease key prefix. The members whose lease key is gone and
   * whose clean-up nobody alive holds.
   */
  private static final String EXPIRED =
      """
      local out = {}
      for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
        if redis.call('EXISTS', ARGV[1] .. id) == 0 then
          local c = redis.call('HGET', KEYS[2], id)
          if not c or redis.call('EXISTS', ARGV[1] .. c) == 0 then
            out[#out + 1] = id
          end
        end
      end
      return out
      """;

  /**
   * KEYS: dead node's lease key, node set, cleaning hash; ARGV: dead node id, claimer, lease key
   * prefix. 1 when this call claimed the dead node's clean-up.
   */
  private static final String CLAIM =
      """
      if redis.call('EXISTS', KEYS[1]) == 1 then
        return 0
      end
      if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then
        return 0
      end
      local c = redis.call('HGET', KEYS[3], ARGV[1])
      if c and redis.call('EXISTS', ARGV[3] .. c) == 1 then
        return 0
      end
      redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
      return 1
      """;

  /** KEYS: node set; ARGV: lease key prefix. The members whose lease key exists. */
  private static final String ALIVE =
      """
      local out = {}
      for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
        if redis.call('EXISTS', ARGV[1] .. id) == 1 then
          out[#out + 1] = id
        end
      end
      return out
      """;

  /**
   * KEYS: dead node's lease key, node set, cleaning hash; ARGV: dead node id, claimer. Forgets the
   * dead node, unless it came back (its lease) or another claimer took over.
   */
  private static final String CLEANED =
      """
      if redis.call('HGET', KEYS[3], ARGV[1]) == ARGV[2] then
        redis.call('HDEL', KEYS[3], ARGV[1])
        if redis.call('EXISTS', KEYS[1]) == 0 then
          redis.call('SREM', KEYS[2], ARGV[1])
        end
      end
      return 1
      """;

  /** KEYS: the lease; ARGV: holder, ttl ms. 1 when the holder holds it now (taken or renewed). */
  private static final String HOLD =
      """
      local c = redis.call('GET', KEYS[1])
      if c and c ~= ARGV[1] then
        return 0
      end
      redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
      return 1
      """;

  private final RedisClusterAsyncCommands<String, byte[]> redis;
  private final RedisKeys keys;
  private final RedisScript heartbeat;
  private final RedisScript expired;
  private final RedisScript claim;
  private final RedisScript cleaned;
  private final RedisScript alive;
  private final RedisScript hold;

  /** The hash tag of the registry's keys ({@link RedisKeys#group}). */
  private static final String GROUP = "nodes";

  /** The lease keys' common start, to which the scripts append a node id. */
  private final byte[] leasePrefix;

  public RedisNodeRegistry(RedisBackend backend) {
    this.redis = backend.commands().async();
    this.keys = backend.keys();
    this.heartbeat = new RedisScript(HEARTBEAT, redis);
    this.expired = new RedisScript(EXPIRED, redis);
    this.claim = new RedisScript(CLAIM, redis);
    this.cleaned = new RedisScript(CLEANED, redis);
    this.alive = new RedisScript(ALIVE, redis);
    this.leasePrefix = bytes(lease(""));
    this.hold = new RedisScript(HOLD, redis);
  }

  private String lease(String nodeId) {
    return keys.group(GROUP, "node", nodeId);
  }

  private String set() {
    return keys.group(GROUP, "nodes", "");
  }

  private String cleaning() {
    return keys.group(GROUP, "nodes:cleaning", "");
  }

  private static byte[] bytes(Object o) {
    return String.valueOf(o).getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public CompletionStage<Boolean> heartbeat(String nodeId, Duration lease) {
    return heartbeat
        .<Long>run(
            ScriptOutputType.INTEGER,
            new String[] {lease(nodeId), set(), cleaning()},
            bytes(nodeId),
            bytes(lease.toMillis()))
        .thenApply(n -> n == 1L);
  }

  @Override
  public CompletionStage<List<String>> expired() {
    return expired
        .<List<Object>>run(ScriptOutputType.MULTI, new String[] {set(), cleaning()}, leasePrefix)
        .thenApply(RedisNodeRegistry::strings);
  }

  @Override
  public CompletionStage<Boolean> claim(String deadNodeId, String claimer) {
    return claim
        .<Long>run(
            ScriptOutputType.INTEGER,
            new String[] {lease(deadNodeId), set(), cleaning()},
            bytes(deadNodeId),
            bytes(claimer),
            leasePrefix)
        .thenApply(n -> n == 1L);
  }

  @Override
  public CompletionStage<Void> cleaned(String deadNodeId, String claimer) {
    return cleaned
        .<Long>run(
            ScriptOutputType.INTEGER,
            new String[] {lease(deadNodeId), set(), cleaning()},
            bytes(deadNodeId),
            bytes(claimer))
        .thenApply(n -> null);
  }

  @Override
  public CompletionStage<Void> leave(String nodeId) {
    return RedisErrors.call(
            () -> redis.del(lease(nodeId)).thenCompose(n -> redis.srem(set(), bytes(nodeId))))
        .thenApply(v -> null);
  }

  @Override
  public CompletionStage<List<String>> alive() {
    return alive
        .<List<Object>>run(ScriptOutputType.MULTI, new String[] {set()}, leasePrefix)
        .thenApply(RedisNodeRegistry::strings);
  }

  /** One script call on the key {@code <prefix>lease:<name>}. */
  @Override
  public CompletionStage<Boolean> holdLease(String name, String holder, Duration ttl) {
    return hold.<Long>run(
            ScriptOutputType.INTEGER,
            new String[] {keys.key("lease:" + name)},
            bytes(holder),
            bytes(ttl.toMillis()))
        .thenApply(n -> n == 1L);
  }

  private static List<String> strings(List<Object> raw) {
    List<String> out = new ArrayList<>(raw.size());
    for (Object o : raw) {
      out.add(new String((byte[]) o, StandardCharsets.UTF_8));
    }
    return out;
  }
}
