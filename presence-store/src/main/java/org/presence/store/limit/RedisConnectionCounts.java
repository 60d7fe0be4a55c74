package org.presence.store.limit;

import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.RedisErrors;
import org.presence.store.redis.RedisKeys;
import org.presence.store.redis.RedisScript;

/**
 * {@link ConnectionCounts} in Redis: a hash per key ({@code <prefix>appconns:{conns}<key>}) holding
 * each node's count under the node's lease id, and one hash of the nodes' leases ({@code
 * <prefix>appconns:leases:{conns}}: lease id to the time, on Redis's clock, at which it runs out)
 * in which this node renews its own every third of {@code lease}. A count reads the leases of the
 * nodes holding connections, so all these keys share the hash tag {@code {conns}} (one slot on a
 * Redis Cluster; they are few and change only when an update connection opens or closes), and each
 * script declares every key it touches: while an operator moves that slot to another primary, a
 * call over keys that are for a moment on different primaries is refused ({@code TRYAGAIN}) and
 * goes again ({@link RedisScript}), where reading a lease the script had not declared would have
 * found it absent on the new primary (dropping that node's count) or have written it there before
 * the move (which then stops on {@code BUSYKEY}). The id is new for each process, so a node
 * restarted under the same name starts from nothing. A node's count counts while its lease lives: a
 * node that dies (or loses Redis for longer than its lease) drops out of every count within the
 * lease, and the next call that sums the hash deletes its entry; each renewal deletes the leases
 * that ran out. Redis counts a declared key that does not exist as one the call is missing, for as
 * long as the slot is moving, so a key's hash keeps a field {@code ~} once a connection was counted
 * in it, and the call is refused only while the keys are apart.
 *
 * <p>Nodes of the version before the lease hash kept a lease key per node ({@code
 * <prefix>appconns:lease:{conns}<id>}). So that both versions can run side by side during a rolling
 * upgrade, the renewal also renews that key (declared), and a count entry whose lease id has no
 * field in the lease hash is judged by that key (read by name: an entry of the earlier version).
 * That reading can go once no node of the earlier version runs.
 *
 * <p>Cost in Redis commands: {@link #open} is one script call ({@code EVALSHA}, {@code TIME},
 * {@code HSET} renewing the caller's lease, {@code HGETALL}, one {@code HGET} per other node
 * holding connections of the key, {@code HINCRBY}); {@link #closed} one ({@code EVALSHA}, {@code
 * HINCRBY}, {@code HDEL} at zero); the renewal one script call per node every {@code lease / 3}
 * ({@code EVALSHA}, {@code TIME}, {@code HGETALL} and {@code HSET} of the leases, an {@code HDEL}
 * for leases that ran out).
 */
public final class RedisConnectionCounts implements ConnectionCounts {
  /**
   * {@code renew_own(leases)}: renews lease ARGV[1] in the hash {@code leases} for ARGV[2] ms and
   * returns the time on Redis's clock in milliseconds. Every node's leases are judged on this one
   * clock.
   */
  private static final String RENEW_OWN =
      """
      local function renew_own(leases)
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('HSET', leases, ARGV[1], now + tonumber(ARGV[2]))
        return now
      end
      """;

  /**
   * KEYS: the key's hash, the leases hash; ARGV: lease id, lease ms, the earlier version's lease
   * key prefix. Sums the counts of live leases (this caller's counts as live: its lease is renewed
   * first) and deletes the others.
   */
  private static final String SUM =
      RENEW_OWN
          + """
          local now = renew_own(KEYS[2])
          local total = 0
          local h = redis.call('HGETALL', KEYS[1])
          for i = 1, #h, 2 do
            local id = h[i]
            if id ~= '~' then
              local alive = id == ARGV[1]
              if not alive then
                local u = redis.call('HGET', KEYS[2], id)
                if u then
                  alive = tonumber(u) > now
                else
                  alive = redis.call('EXISTS', ARGV[3] .. id) == 1
                end
              end
              if alive then
                total = total + tonumber(h[i + 1])
              else
                redis.call('HDEL', KEYS[1], id)
              end
            end
          end
          """;

  /** {@link #SUM}, then ARGV[4] is the limit: 1 when the connection was counted. */
  private static final String OPEN =
      SUM
          + """
          if total >= tonumber(ARGV[4]) then
            return 0
          end
          redis.call('HSETNX', KEYS[1], '~', '0')
          redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
          return 1
          """;

  /** {@link #SUM}: the live total. */
  private static final String COUNT = SUM + "return total\n";

  /** KEYS: the key's hash; ARGV: lease id. */
  private static final String CLOSED =
      """
      local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
      if n <= 0 then
        redis.call('HDEL', KEYS[1], ARGV[1])
      end
      return n
      """;

  /**
   * KEYS: the leases hash, this node's lease key of the earlier version; ARGV: lease id, lease ms.
   * Renews this node's lease (both forms) and deletes the leases that ran out.
   */
  private static final String RENEW =
      RENEW_OWN
          + """
          local now = renew_own(KEYS[1])
          redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
          local l = redis.call('HGETALL', KEYS[1])
          for i = 1, #l, 2 do
            if tonumber(l[i + 1]) <= now then
              redis.call('HDEL', KEYS[1], l[i])
            end
          end
          return 1
          """;

  /** The hash tag of all these keys ({@link RedisKeys#group}). */
  private static final String GROUP = "conns";

  private final RedisClusterAsyncCommands<String, byte[]> redis;
  private final RedisKeys keys;
  private final Duration lease;
  private final String id = UUID.randomUUID().toString();
  private final RedisScript open;
  private final RedisScript count;
  private final RedisScript closed;
  private final RedisScript renew;
  private final ScheduledExecutorService renewer;

  public RedisConnectionCounts(RedisBackend backend, Duration lease) {
    this.redis = backend.commands().async();
    this.keys = backend.keys();
    this.lease = lease;
    this.open = new RedisScript(OPEN, redis);
    this.count = new RedisScript(COUNT, redis);
    this.closed = new RedisScript(CLOSED, redis);
    this.renew = new RedisScript(RENEW, redis);
    this.renewer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "connection-count-lease");
              t.setDaemon(true);
              return t;
            });
    long every = Math.max(1, lease.toMillis() / 3);
    renewer.scheduleWithFixedDelay(this::renew, 0, every, TimeUnit.MILLISECONDS);
  }

  private void renew() {
    // A failed renewal is retried at the next tick; the lease outlives two of them.
    renew.run(
        ScriptOutputType.INTEGER,
        new String[] {leases(), legacyLease(id)},
        bytes(id),
        bytes(lease.toMillis()));
  }

  private String leases() {
    return keys.group(GROUP, "appconns:leases", "");
  }

  /** Lease {@code leaseId}'s key in the version before the lease hash. */
  private String legacyLease(String leaseId) {
    return keys.group(GROUP, "appconns:lease", leaseId);
  }

  private String hash(long key) {
    return keys.group(GROUP, "appconns", Long.toString(key));
  }

  private static byte[] bytes(Object o) {
    return String.valueOf(o).getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public CompletionStage<Boolean> open(long key, int max) {
    return open.<Long>run(
            ScriptOutputType.INTEGER,
            new String[] {hash(key), leases()},
            bytes(id),
            bytes(lease.toMillis()),
            bytes(legacyLease("")),
            bytes(max))
        .thenApply(n -> n == 1L);
  }

  @Override
  public CompletionStage<Void> closed(long key) {
    return closed
        .<Long>run(ScriptOutputType.INTEGER, new String[] {hash(key)}, bytes(id))
        .thenApply(n -> null);
  }

  @Override
  public CompletionStage<Integer> count(long key) {
    return count
        .<Long>run(
            ScriptOutputType.INTEGER,
            new String[] {hash(key), leases()},
            bytes(id),
            bytes(lease.toMillis()),
            bytes(legacyLease("")))
        .thenApply(Long::intValue);
  }

  /** Gives up this node's lease at once: its connections leave every count. */
  @Override
  public void close() {
    renewer.shutdownNow();
    try {
      RedisErrors.call(() -> redis.hdel(leases(), id).thenCompose(n -> redis.del(legacyLease(id))))
          .toCompletableFuture()
          .get(2, TimeUnit.SECONDS);
    } catch (Exception e) {
      // Redis is gone or slow: the lease lapses by itself.
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
