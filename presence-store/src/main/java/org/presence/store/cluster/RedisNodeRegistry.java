package org.presence.store.cluster;

import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletionStage;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.RedisKeys;
import org.presence.store.redis.RedisScript;

/**
 * {@link NodeRegistry} in Redis: the hash of the nodes' leases ({@code
 * <prefix>nodes:leases:{nodes}}: node id to the time, on Redis's clock, at which its lease runs
 * out), the set of nodes that took a lease ({@code <prefix>nodes:{nodes}}), and the hash of
 * clean-ups in progress ({@code <prefix>nodes:cleaning:{nodes}}: dead node to claimer, and a field
 * {@code ~} that keeps it in existence). The scripts read the leases of every node, so all these
 * keys share the hash tag {@code {nodes}}: one slot on a Redis Cluster (they are few: one lease per
 * node, renewed every heartbeat), and every script declares the three keys: while an operator moves
 * that slot to another primary, a call over keys that are for a moment on different primaries is
 * refused ({@code TRYAGAIN}) and goes again ({@link RedisScript}). (With a key per lease, read by
 * scripts that had not declared it, a half-moved slot showed live nodes as dead on the new primary,
 * and the presence sweep releases the devices of every node {@link #alive} leaves out.) Redis also
 * counts a declared key that does not exist as one the call is missing, for as long as the slot is
 * moving, so the heartbeat keeps all three in existence and a call is refused only while they are
 * apart.
 *
 * <p>Nodes of the version before the lease hash kept a lease key per node ({@code
 * <prefix>node:{nodes}<id>}, expiring with the lease). So that both versions can run side by side
 * during a rolling upgrade, a heartbeat also renews that key (declared), and a node is alive while
 * its field in the lease hash is in the future <em>or</em> its key lives (read by name: a node of
 * the earlier version, or one dead since before the upgrade). Either one is enough: an id that ran
 * this version and then the earlier one again (a node rolled back, or an upgrade started again)
 * keeps the field its last run here left behind, which only runs out, and its earlier-version run
 * renews the key alone. (Judged by a field alone, such a node was taken for dead a lease after its
 * start, and a survivor released its devices and ended its sessions.) Reading the key can only make
 * a node alive, never dead. That reading can go once no node of the earlier version runs. The look
 * for expired nodes ({@link #survey}) also lists the members alive by the key alone: nodes of the
 * earlier version running now, which a node of this version warns of.
 *
 * <p>A node in the set whose lease ran out is dead; the claim records the claimer in the same
 * script that checks the lease and any earlier claimer's lease, so one live claimer holds it at a
 * time, and a claimer that dies mid-way hands the clean-up to the next survivor. The clean-up's end
 * removes the dead node from the set and its lease from the hash.
 *
 * <p>A node that drains records it ({@code <prefix>nodes:drained:{nodes}<id>}: the time its lease
 * runs out, expiring {@link NodeRegistry#DRAIN_KEPT} later), so that a run restarted under the same
 * id before the lease runs out leaves the drained run's devices to come back as the survivors
 * would, instead of releasing them at start, and so that the survivor cleaning up after a node that
 * never came back reports it as drained rather than dead.
 */
public final class RedisNodeRegistry implements NodeRegistry {
  /**
   * The start of every script but {@link #HOLD} and {@link #LEAVE}; KEYS: leases hash, node set,
   * cleaning hash; ARGV[1]: the earlier version's lease key prefix, the script's own arguments
   * after it. {@code now}: the time on Redis's clock in milliseconds; {@code live(id)}: whether
   * node {@code id}'s lease runs on.
   */
  private static final String LEASES =
      """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local function live(id)
        local u = redis.call('HGET', KEYS[1], id)
        if u and tonumber(u) > now then
          return true
        end
        return redis.call('EXISTS', ARGV[1] .. id) == 1
      end
      """;

  /**
   * KEYS[4]: the node's lease key of the earlier version; ARGV[2], ARGV[3]: node id, lease ms. 1
   * when the lease went on: the node was in the set and nobody was cleaning up after it; 2 when it
   * went on but had run out before (leases behind: {@link NodeRegistry.Renewal#LAPSED}); 0 when the
   * node joins.
   */
  private static final String HEARTBEAT =
      LEASES
          + """
          local lapsed = not live(ARGV[2])
          redis.call('HSET', KEYS[1], ARGV[2], now + tonumber(ARGV[3]))
          redis.call('SET', KEYS[4], '1', 'PX', ARGV[3])
          redis.call('HSETNX', KEYS[3], '~', '')
          local was_cleaned = redis.call('HDEL', KEYS[3], ARGV[2])
          local added = redis.call('SADD', KEYS[2], ARGV[2])
          if added == 0 and was_cleaned == 0 then
            if lapsed then
              return 2
            end
            return 1
          end
          return 0
          """;

  /**
   * {the members whose lease ran out and whose clean-up nobody alive holds, the members alive by
   * the earlier version's lease key alone}. The second list costs no command more: a member whose
   * field has run out is the one whose key {@code live} reads anyway. A node of this version writes
   * its field and its key with one expiry, so its key can outlive its field by a moment only (Redis
   * expires a key against the time the script started, {@code TIME} reads later): a key is counted
   * as the earlier version's only when there is no field, or the field ran out more than a second
   * ago.
   */
  private static final String EXPIRED =
      LEASES
          + """
          local out, earlier = {}, {}
          for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
            local u = redis.call('HGET', KEYS[1], id)
            u = u and tonumber(u)
            if u and u > now then
              -- alive by this version's lease
            elseif redis.call('EXISTS', ARGV[1] .. id) == 1 then
              if not u or u + 1000 < now then
                earlier[#earlier + 1] = id
              end
            else
              local c = redis.call('HGET', KEYS[3], id)
              if not c or not live(c) then
                out[#out + 1] = id
              end
            end
          end
          return {out, earlier}
          """;

  /** ARGV[2], ARGV[3]: dead node id, claimer. 1 when this call claimed the dead node's clean-up. */
  private static final String CLAIM =
      LEASES
          + """
          if live(ARGV[2]) then
            return 0
          end
          if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 0 then
            return 0
          end
          local c = redis.call('HGET', KEYS[3], ARGV[2])
          if c and live(c) then
            return 0
          end
          redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
          return 1
          """;

  /** The members whose lease runs on. */
  private static final String ALIVE =
      LEASES
          + """
          local out = {}
          for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
            if live(id) then
              out[#out + 1] = id
            end
          end
          return out
          """;

  /**
   * ARGV[2], ARGV[3]: dead node id, claimer. Forgets the dead node, unless it came back (its lease)
   * or another claimer took over.
   */
  private static final String CLEANED =
      LEASES
          + """
          if redis.call('HGET', KEYS[3], ARGV[2]) == ARGV[3] then
            redis.call('HDEL', KEYS[3], ARGV[2])
            if not live(ARGV[2]) then
              redis.call('SREM', KEYS[2], ARGV[2])
              redis.call('HDEL', KEYS[1], ARGV[2])
            end
          end
          return 1
          """;

  /**
   * KEYS: leases hash, node set, the node's lease key of the earlier version; ARGV: node id. The
   * node leaves: its lease and its place in the set go.
   */
  private static final String LEAVE =
      """
      redis.call('HDEL', KEYS[1], ARGV[1])
      redis.call('DEL', KEYS[3])
      redis.call('SREM', KEYS[2], ARGV[1])
      return 1
      """;

  /**
   * KEYS: leases hash, the node's drain record; ARGV: node id, how long the record outlives the
   * lease (ms). Records the time at which the node's lease runs out, kept until then and that long
   * more; the milliseconds left, or -1 when it has run out.
   */
  private static final String DRAINED =
      """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local u = redis.call('HGET', KEYS[1], ARGV[1])
      if u and tonumber(u) > now then
        redis.call('SET', KEYS[2], u, 'PX', tonumber(u) - now + tonumber(ARGV[2]))
        return tonumber(u) - now
      end
      return -1
      """;

  /**
   * KEYS: the node's drain record. Deletes it; the milliseconds until the drained run's lease runs
   * out, or -1 when there is none or that lease has run out.
   */
  private static final String TAKE_DRAINED =
      """
      local u = redis.call('GET', KEYS[1])
      if not u then
        return -1
      end
      redis.call('DEL', KEYS[1])
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      if tonumber(u) <= now then
        return -1
      end
      return tonumber(u) - now
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
  private final RedisScript leave;

  /** The earlier version's lease keys' common start, to which the scripts append a node id. */
  private final byte[] legacyPrefix;

  private final RedisScript hold;
  private final RedisScript drained;
  private final RedisScript takeDrained;

  /** The hash tag of the registry's keys ({@link RedisKeys#group}). */
  private static final String GROUP = "nodes";

  public RedisNodeRegistry(RedisBackend backend) {
    this.redis = backend.commands().async();
    this.keys = backend.keys();
    this.heartbeat = new RedisScript(HEARTBEAT, redis);
    this.expired = new RedisScript(EXPIRED, redis);
    this.claim = new RedisScript(CLAIM, redis);
    this.cleaned = new RedisScript(CLEANED, redis);
    this.alive = new RedisScript(ALIVE, redis);
    this.leave = new RedisScript(LEAVE, redis);
    this.legacyPrefix = bytes(legacyLease(""));
    this.hold = new RedisScript(HOLD, redis);
    this.drained = new RedisScript(DRAINED, redis);
    this.takeDrained = new RedisScript(TAKE_DRAINED, redis);
  }

  private String leases() {
    return keys.group(GROUP, "nodes:leases", "");
  }

  /** The keys every script but {@link #HOLD} takes: leases, node set, cleaning hash. */
  private String[] registry() {
    return new String[] {leases(), set(), cleaning()};
  }

  /** The lease key of node {@code nodeId} in the version before the lease hash. */
  private String legacyLease(String nodeId) {
    return keys.group(GROUP, "node", nodeId);
  }

  /** The drain record of node {@code nodeId} ({@link #drained}). */
  private String drainRecord(String nodeId) {
    return keys.group(GROUP, "nodes:drained", nodeId);
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
    return renew(nodeId, lease).thenApply(r -> r != Renewal.JOINED);
  }

  @Override
  public CompletionStage<Renewal> renew(String nodeId, Duration lease) {
    return heartbeat
        .<Long>run(
            ScriptOutputType.INTEGER,
            new String[] {leases(), set(), cleaning(), legacyLease(nodeId)},
            legacyPrefix,
            bytes(nodeId),
            bytes(lease.toMillis()))
        .thenApply(n -> n == 1L ? Renewal.CONTINUED : n == 2L ? Renewal.LAPSED : Renewal.JOINED);
  }

  @Override
  public CompletionStage<List<String>> expired() {
    return survey().thenApply(Survey::expired);
  }

  /** One script call, {@link #expired}'s. */
  @Override
  public CompletionStage<Survey> survey() {
    return expired
        .<List<Object>>run(ScriptOutputType.MULTI, registry(), legacyPrefix)
        .thenApply(two -> new Survey(strings(nested(two.get(0))), strings(nested(two.get(1)))));
  }

  @SuppressWarnings("unchecked")
  private static List<Object> nested(Object list) {
    return (List<Object>) list;
  }

  @Override
  public CompletionStage<Boolean> claim(String deadNodeId, String claimer) {
    return claim
        .<Long>run(
            ScriptOutputType.INTEGER, registry(), legacyPrefix, bytes(deadNodeId), bytes(claimer))
        .thenApply(n -> n == 1L);
  }

  @Override
  public CompletionStage<Void> cleaned(String deadNodeId, String claimer) {
    return cleaned
        .<Long>run(
            ScriptOutputType.INTEGER, registry(), legacyPrefix, bytes(deadNodeId), bytes(claimer))
        .thenApply(n -> null);
  }

  @Override
  public CompletionStage<Void> leave(String nodeId) {
    return leave
        .<Long>run(
            ScriptOutputType.INTEGER,
            new String[] {leases(), set(), legacyLease(nodeId)},
            bytes(nodeId))
        .thenApply(v -> null);
  }

  @Override
  public CompletionStage<Void> drained(String nodeId) {
    return drained
        .<Long>run(
            ScriptOutputType.INTEGER,
            new String[] {leases(), drainRecord(nodeId)},
            bytes(nodeId),
            bytes(DRAIN_KEPT.toMillis()))
        .thenApply(v -> null);
  }

  /** One {@code EXISTS} on the node's drain record. */
  @Override
  public CompletionStage<Boolean> drainedBefore(String nodeId) {
    return redis.exists(drainRecord(nodeId)).thenApply(n -> n == 1L);
  }

  @Override
  public CompletionStage<OptionalLong> takeDrained(String nodeId) {
    return takeDrained
        .<Long>run(ScriptOutputType.INTEGER, new String[] {drainRecord(nodeId)})
        .thenApply(n -> n < 0 ? OptionalLong.empty() : OptionalLong.of(n));
  }

  @Override
  public CompletionStage<List<String>> alive() {
    return alive
        .<List<Object>>run(ScriptOutputType.MULTI, registry(), legacyPrefix)
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
