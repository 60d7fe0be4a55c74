package org.presence.store.cluster;

import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.RedisErrors;
import org.presence.store.redis.RedisKeys;
import org.presence.store.redis.RedisScript;

/**
 * {@link NodeRegistry} in Redis: a lease key per node ({@code <prefix>node:<id>}, expiring with the
 * lease) and the set of nodes that took a lease ({@code <prefix>nodes}). A node in the set whose
 * lease key is gone is dead; the claim removes it from the set in the same script that checks its
 * lease, so exactly one claimer wins.
 */
public final class RedisNodeRegistry implements NodeRegistry {
  /** KEYS: lease key, node set; ARGV: node id, lease ms. 1 when the node was in the set. */
  private static final String HEARTBEAT =
      """
      redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
      return 1 - redis.call('SADD', KEYS[2], ARGV[1])
      """;

  /** KEYS: node set; ARGV: lease key prefix. Returns the members whose lease key is gone. */
  private static final String EXPIRED =
      """
      local out = {}
      for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
        if redis.call('EXISTS', ARGV[1] .. id) == 0 then
          out[#out + 1] = id
        end
      end
      return out
      """;

  /** KEYS: lease key, node set; ARGV: node id. 1 when this call claimed the dead node. */
  private static final String CLAIM =
      """
      if redis.call('EXISTS', KEYS[1]) == 1 then
        return 0
      end
      return redis.call('SREM', KEYS[2], ARGV[1])
      """;

  private final RedisAsyncCommands<String, byte[]> redis;
  private final RedisKeys keys;
  private final RedisScript heartbeat;
  private final RedisScript expired;
  private final RedisScript claim;

  public RedisNodeRegistry(RedisBackend backend) {
    this.redis = backend.commands().async();
    this.keys = backend.keys();
    this.heartbeat = new RedisScript(HEARTBEAT, redis);
    this.expired = new RedisScript(EXPIRED, redis);
    this.claim = new RedisScript(CLAIM, redis);
  }

  private String lease(String nodeId) {
    return keys.key("node:" + nodeId);
  }

  private String set() {
    return keys.key("nodes");
  }

  private static byte[] bytes(Object o) {
    return String.valueOf(o).getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public CompletionStage<Boolean> heartbeat(String nodeId, Duration lease) {
    return heartbeat.<Long>run(ScriptOutputType.INTEGER,
            new String[] {lease(nodeId), set()},
            bytes(nodeId),
            bytes(lease.toMillis()))
        .thenApply(n -> n == 1L);
  }

  @Override
  public CompletionStage<List<String>> expired() {
    return expired.<List<Object>>run(ScriptOutputType.MULTI, new String[] {set()}, bytes(keys.key("node:")))
        .thenApply(RedisNodeRegistry::strings);
  }

  @Override
  public CompletionStage<Boolean> claim(String deadNodeId, String claimer) {
    return claim.<Long>run(ScriptOutputType.INTEGER,
            new String[] {lease(deadNodeId), set()},
            bytes(deadNodeId))
        .thenApply(n -> n == 1L);
  }

  @Override
  public CompletionStage<Void> leave(String nodeId) {
    try {
      return redis
          .del(lease(nodeId))
          .thenCompose(n -> redis.srem(set(), bytes(nodeId)))
          .handle(
              (v, e) -> {
                if (e != null) {
                  throw RedisErrors.unavailable(e);
                }
                return null;
              });
    } catch (RedisException e) {
      return CompletableFuture.failedFuture(RedisErrors.unavailable(e));
    }
  }

  @Override
  public CompletionStage<List<String>> alive() {
    return expired()
        .thenCombine(
            members(),
            (dead, all) -> {
              List<String> out = new ArrayList<>(all);
              out.removeAll(dead);
              return out;
            });
  }

  private CompletionStage<List<String>> members() {
    try {
      return redis
          .smembers(set())
          .handle(
              (v, e) -> {
                if (e != null) {
                  throw RedisErrors.unavailable(e);
                }
                List<String> out = new ArrayList<>();
                v.forEach(b -> out.add(new String(b, StandardCharsets.UTF_8)));
                return out;
              });
    } catch (RedisException e) {
      return CompletableFuture.failedFuture(RedisErrors.unavailable(e));
    }
  }

  private static List<String> strings(List<Object> raw) {
    List<String> out = new ArrayList<>(raw.size());
    for (Object o : raw) {
      out.add(new String((byte[]) o, StandardCharsets.UTF_8));
    }
    return out;
  }

}
