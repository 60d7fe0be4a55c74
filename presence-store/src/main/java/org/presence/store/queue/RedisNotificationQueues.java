package org.presence.store.queue;

import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.config.StoreConfig;
import org.presence.store.error.StoreException;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.RedisErrors;
import org.presence.store.redis.RedisKeys;
import org.presence.store.redis.RedisScript;
import org.presence.store.redis.SpreadCalls;

/**
 * {@link NotificationQueues} in Redis: each (user, app) queue is a list ({@code
 * <prefix>nq:{u:<userKey>}:<appId>}) and each user has a set of the apps with a non-empty queue
 * ({@code <prefix>nqa:{u:<userKey>}}). Every operation is one Lua script, so it is atomic and costs
 * one round trip (a whole batch included). A user's keys share the user's hash tag; on a Redis
 * Cluster a batch for users of several slots goes as one script call per primary, concurrently
 * (each call atomic on its own), or per slot when a primary refuses a call ({@link SpreadCalls}).
 * Durability is Redis's: run it with {@code appendonly yes} (see docs/operations.md).
 *
 * <p>With {@code store.redis.ack-replicas} above zero, {@link #enqueueAll} completes only once that
 * many replicas have the batch: each script call runs on the backend's connection for such writes
 * ({@link RedisBackend#acknowledgedOn}: on a Redis Cluster its own connection to the primary of the
 * call's first key) and is followed there by {@code WAIT replicas timeout}. Fewer replicas within
 * the timeout, that connection lost between the two, or on a Redis Cluster a primary that no longer
 * holds the keys (a failover or a reshard the node has not seen yet), fail the call with {@code
 * BACKEND_UNAVAILABLE}: the batch may be stored on the primary, but it is not acknowledged (the
 * caller retries, and may then store it twice).
 *
 * <h2>The per-application limit</h2>
 *
 * What an application has queued is counted in one hash per application ({@code
 * <prefix>nqc:{a:<appId>}}, in the application's slot, not its users'): one field per time bucket
 * of a thirtieth of the queue retention (a day for 30 days), holding the items of the application
 * pushed in that bucket and still queued as far as the node knows. Room is taken ({@link
 * #ADMIT_ROOM}: the fields older than two retentions and a bucket dropped, the rest summed, room
 * taken for as many of each application's items as the limit lets in, in order) and only those
 * items are stored: on one Redis, for {@link #enqueueAndWake}, in the call that stores them (a call
 * that finds no room for some item stores nothing, and a second one stores the items with room);
 * else with one {@link #ADMIT} call per primary of the batch's applications before the store calls.
 * Items that leave by delivery, by a full queue's drop-oldest or by a revoke (whose bucket follows
 * from their {@link Notification#createdAt}) are given back with one {@link #RELEASE} call per
 * primary after the store call that removed them, but for a delivery's removal on one Redis ({@link
 * #removeDelivered}), whose own call gives them back; the room of a batch that failed is given back
 * too. A queue that expires whole ({@code PEXPIRE}) takes its items without telling anyone: their
 * count stays in its bucket until the bucket goes. No item outlives its bucket: a push first drops
 * from its queue's head the items older than the retention ({@link #PUSH}), so an item lives less
 * than two retentions (pushed to at the end of the first, its queue expires at the end of the
 * second). So the sum is an upper bound of what is queued, over by what expired whole within the
 * last two retentions (62 days by default); see docs/notifications.md.
 */
public final class RedisNotificationQueues implements NotificationQueues {
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(RedisNotificationQueues.class);

  /** A count that could not be given back (Redis did not answer): once a minute at most. */
  private static final org.presence.store.error.RateLimitedLog RELEASE_FAILED =
      new org.presence.store.error.RateLimitedLog(LOG, Duration.ofMinutes(1));

  /** Buckets per queue retention in an application's count. */
  static final int BUCKETS = 30;

  /**
   * {@code admit(k1, kn, a)}, shared by {@link #ADMIT} and {@link #ENQUEUE_WAKE}: KEYS[k1..kn] are
   * per application its count; ARGV from {@code a}: limit, bucket length (ms), buckets kept (the
   * retention in buckets), the count's expiry (ms), then per application its run count and per run
   * a bucket and an item count (the application's items in order, by bucket). Drops the buckets
   * older than the retention (Redis's clock), then takes room in order while the sum is under the
   * limit; a bucket already that old is counted in the current one. Returns per application how
   * many of its items may be stored (its first ones), whether that is all of them, and the ARGV
   * index after its arguments. The count expires a retention and two buckets after its last
   * admission.
   */
  private static final String ADMIT_ROOM =
      """
      local function admit(k1, kn, a)
        local limit = tonumber(ARGV[a])
        local t = redis.call('TIME')
        local now = math.floor((tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
          / tonumber(ARGV[a + 1]))
        local oldest = now - tonumber(ARGV[a + 2])
        local expiry = ARGV[a + 3]
        a = a + 4
        local out, all = {}, true
        for k = k1, kn do
          local key = KEYS[k]
          local runs = tonumber(ARGV[a])
          a = a + 1
          local h = redis.call('HGETALL', key)
          local sum = 0
          for f = 1, #h, 2 do
            if tonumber(h[f]) < oldest then
              redis.call('HDEL', key, h[f])
            else
              sum = sum + tonumber(h[f + 1])
            end
          end
          local took = 0
          for r = 1, runs do
            local b, n = ARGV[a], tonumber(ARGV[a + 1])
            a = a + 2
            local t = math.min(n, limit - sum - took)
            if t < n then
              all = false
            end
            if t > 0 then
              if tonumber(b) < oldest then
                b = tostring(now)
              end
              redis.call('HINCRBY', key, b, t)
              took = took + t
            end
          end
          if took > 0 then
            redis.call('PEXPIRE', key, expiry)
          end
          out[#out + 1] = took
        end
        return out, all, a
      end
      """;

  /** KEYS and ARGV as {@link #ADMIT_ROOM}'s from the first. Returns per application its room. */
  private static final String ADMIT =
      SpreadCalls.PROLOGUE
          + SpreadCalls.CHECK
          + ADMIT_ROOM
          + """
      local e = check(1, #KEYS, 1)
      if e then
        return e
      end
      local took = admit(1, #KEYS, 1)
      return took
      """;

  /**
   * {@code give_back(key, bucket, n)}, shared by {@link #RELEASE} and {@link #REMOVE_DELIVERED}:
   * takes {@code n} from {@code bucket} of the application count {@code key}. A bucket already
   * dropped is left alone; one brought to zero goes.
   */
  private static final String GIVE_BACK =
      """
      local function give_back(key, bucket, n)
        if redis.call('HEXISTS', key, bucket) == 1 then
          if redis.call('HINCRBY', key, bucket, -n) <= 0 then
            redis.call('HDEL', key, bucket)
          end
        end
      end
      """;

  /**
   * KEYS: per application its count; ARGV: per application its run count and per run a bucket and
   * the count of its items that left. A bucket already dropped is left alone; one brought to zero
   * goes. Returns 0.
   */
  private static final String RELEASE =
      SpreadCalls.PROLOGUE
          + SpreadCalls.CHECK
          + GIVE_BACK
          + """
      local e = check(1, #KEYS, 1)
      if e then
        return e
      end
      local a = 1
      for k = 1, #KEYS do
        local runs = tonumber(ARGV[a])
        a = a + 1
        for r = 1, runs do
          give_back(KEYS[k], ARGV[a], tonumber(ARGV[a + 1]))
          a = a + 2
        end
      end
      return 0
      """;

  /**
   * The appending both enqueue scripts share: {@code push(cap, ttl, cutoff, groups, a, out)}
   * appends, for each of the first {@code groups} (queue, app set) key pairs, the group's items
   * (ARGV from {@code a}: per group app id, item count, items) with one {@code RPUSH} (one per
   * 1,000 items: Lua's {@code unpack} takes at most 8,000), then drops from the head of a queue
   * that held items before the push those created before {@code cutoff} (epoch ms, the node's clock
   * less the retention: one {@code LINDEX}, and an {@code LPOP} per such item, which are not
   * reported; never an item of this push, and no read at all for a queue the push started), so that
   * no item outlives its push by much more than two retentions however often its queue is pushed to
   * (the per-application count relies on it), trims a queue that went over {@code cap} with one
   * {@code LRANGE} and one {@code LTRIM}, and adds the apps whose queue was empty before to their
   * user's set, one {@code SADD} per set (a non-empty queue's app is there already: every script
   * keeps the set equal to the apps with a non-empty queue). Every queue pushed to and its user's
   * set expire {@code ttl} ms later ({@code PEXPIRE}, set again at each push: the queue retention),
   * so the queues of a user who never connects again go. To {@code out} it adds, per item in order,
   * the queue size after that item, the count of items it dropped and those items, as if the items
   * had been pushed one by one. Returns the ARGV index after the groups.
   */
  private static final String PUSH =
      """
      local function push(cap, ttl, cutoff, groups, a, out)
        local added, sets = {}, {}
        for g = 1, groups do
          local q, s = KEYS[2 * g - 1], KEYS[2 * g]
          local app, cnt = ARGV[a], tonumber(ARGV[a + 1])
          local c
          local from, last = a + 2, a + 1 + cnt
          repeat
            local to = math.min(from + 999, last)
            c = redis.call('RPUSH', q, unpack(ARGV, from, to))
            from = to + 1
          until from > last
          a = a + 2 + cnt
          local before = c - cnt
          while before > 0 do
            local created = tonumber(string.match(redis.call('LINDEX', q, 0), '"c":(%d+)'))
            if created == nil or created >= cutoff then
              break
            end
            redis.call('LPOP', q)
            before = before - 1
            c = c - 1
          end
          local dropped = {}
          if c > cap then
            dropped = redis.call('LRANGE', q, 0, c - cap - 1)
            redis.call('LTRIM', q, c - cap, -1)
          end
          redis.call('PEXPIRE', q, ttl)
          if before == 0 then
            if added[s] == nil then
              added[s] = {}
              sets[#sets + 1] = s
            end
            table.insert(added[s], app)
          end
          local e = 0
          for i = 1, cnt do
            local upto = before + i - cap
            if upto < e then
              upto = e
            end
            out[#out + 1] = math.min(before + i, cap)
            out[#out + 1] = upto - e
            for d = e + 1, upto do
              out[#out + 1] = dropped[d]
            end
            e = upto
          end
        end
        for _, s in ipairs(sets) do
          redis.call('SADD', s, unpack(added[s]))
        end
        local expiring = {}
        for g = 1, groups do
          local s = KEYS[2 * g]
          if expiring[s] == nil then
            expiring[s] = true
            redis.call('PEXPIRE', s, ttl)
          end
        end
        return a
      end
      """;

  /**
   * KEYS: per queue (queue, app set); ARGV: capacity, queue ttl (ms), cutoff (epoch ms), then per
   * queue app id, item count, items. Returns per item, in order within each queue, as {@link
   * #PUSH}.
   */
  private static final String ENQUEUE =
      SpreadCalls.PROLOGUE
          + SpreadCalls.CHECK
          + PUSH
          + """
          local e = check(1, #KEYS, 2)
          if e then
            return e
          end
          local out = {}
          push(tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), #KEYS / 2, 4, out)
          return out
          """;

  /**
   * {@code read(app, queue, out)}, shared by the two pending scripts: appends app id, count and
   * items of {@code queue} to {@code out}, or, when the queue is empty, takes the app out of the
   * user's set (KEYS[1]).
   */
  private static final String READ_QUEUE =
      """
      local function read(app, queue, out)
        local items = redis.call('LRANGE', queue, 0, -1)
        if #items == 0 then
          redis.call('SREM', KEYS[1], app)
        else
          out[#out + 1] = app
          out[#out + 1] = #items
          for _, it in ipairs(items) do
            out[#out + 1] = it
          end
        end
      end
      """;

  /**
   * KEYS: app set; ARGV: queue key prefix. Returns app id, count, items... per app. On one Redis
   * only: it reads queue keys it does not declare ({@link #PENDING_DECLARED} on a Redis Cluster).
   */
  private static final String PENDING =
      READ_QUEUE
          + """
          local out = {}
          for _, app in ipairs(redis.call('SMEMBERS', KEYS[1])) do
            read(app, ARGV[1] .. app, out)
          end
          return out
          """;

  /**
   * {@link #PENDING} over declared keys, for a Redis Cluster. KEYS: app set, then one queue per
   * app; ARGV: the apps' ids, in the same order. During a reshard of the user's slot a script
   * reaching a key it did not declare would find a queue not yet moved absent on the new primary
   * (and drop its app from the set, leaving its items unread), or fail on the old one; with every
   * key declared, a call over keys that are apart is refused ({@code TRYAGAIN}) and goes again.
   */
  private static final String PENDING_DECLARED =
      READ_QUEUE
          + """
          local out = {}
          for i = 2, #KEYS do
            read(ARGV[i - 1], KEYS[i], out)
          end
          return out
          """;

  /**
   * KEYS: users' app sets. Returns per key 1 when it exists (its user has a queue that is not
   * empty: every script keeps the set to the apps with one), else 0. A key of a spread call that
   * the primary does not hold fails the call ({@code SPREAD}): an answer of 0 for it would drop a
   * user with items.
   */
  private static final String WITH_ITEMS =
      SpreadCalls.PROLOGUE
          + """
          return read_keys('EXISTS')
          """;

  /**
   * {@code take(queue, set, app, want)}, shared by {@link #REMOVE_ALL} and {@link
   * #REMOVE_DELIVERED}: removes from {@code queue} the items whose id is a key of {@code want};
   * returns them (as stored) and their ids, in queue order. The removed items are usually the
   * queue's head (the oldest, delivered first): one {@code LTRIM} takes them; one other item is one
   * {@code LREM}; several others rewrite the queue ({@code DEL} and one {@code RPUSH} of what
   * stays, keeping its expiry). The app leaves the user's {@code set} when its queue is empty.
   */
  private static final String TAKE =
      """
      local function take(queue, set, app, want)
        local removed, ids, kept = {}, {}, {}
        local head = 0
        for i, it in ipairs(redis.call('LRANGE', queue, 0, -1)) do
          local id = string.match(it, '^(%S+) ')
          if id and want[id] then
            removed[#removed + 1] = it
            ids[#ids + 1] = id
            if head == i - 1 then
              head = i
            end
          else
            kept[#kept + 1] = it
          end
        end
        if #removed > 0 then
          if head == #removed then
            redis.call('LTRIM', queue, head, -1)
          elseif #removed == 1 then
            redis.call('LREM', queue, 1, removed[1])
          else
            local ttl = redis.call('PTTL', queue)
            redis.call('DEL', queue)
            redis.call('RPUSH', queue, unpack(kept))
            if ttl > 0 then
              redis.call('PEXPIRE', queue, ttl)
            end
          end
        end
        if #kept == 0 then
          redis.call('SREM', set, app)
        end
        return removed, ids
      end
      """;

  /**
   * KEYS: per group (queue, app set); ARGV: per group app id, id count, ids. Removes the named
   * items ({@link #TAKE}); returns per group the count of removed items, then the items.
   */
  private static final String REMOVE_ALL =
      SpreadCalls.PROLOGUE
          + SpreadCalls.CHECK
          + TAKE
          + """
      local e = check(1, #KEYS, 2)
      if e then
        return e
      end
      local a = 1
      local out = {}
      for g = 1, #KEYS, 2 do
        local n = tonumber(ARGV[a + 1])
        local want = {}
        for i = a + 2, a + 1 + n do
          want[ARGV[i]] = true
        end
        local removed = take(KEYS[g], KEYS[g + 1], ARGV[a], want)
        a = a + 2 + n
        out[#out + 1] = #removed
        for _, it in ipairs(removed) do
          out[#out + 1] = it
        end
      end
      return out
      """;

  /**
   * {@link #REMOVE_ALL} for items the caller holds ({@link #removeDelivered}): it names each by id
   * and the bucket of its application's count, and gets back the ids removed, not the items. KEYS:
   * per group (queue, app set), and the application's count when ARGV[1] is "1"; ARGV: that flag,
   * then per group app id, id count, per id the id and its bucket. With the counts it gives back
   * the removed items' room in the same call ({@link #GIVE_BACK}), once per application and bucket
   * over all its groups: on one Redis, where the counts and the queues share the instance. Returns
   * per group the count of removed items, then their ids.
   */
  private static final String REMOVE_DELIVERED =
      SpreadCalls.PROLOGUE
          + SpreadCalls.CHECK
          + TAKE
          + GIVE_BACK
          + """
      local counted = ARGV[1] == '1'
      local step = counted and 3 or 2
      local e = check(1, #KEYS, step)
      if e then
        return e
      end
      local a = 2
      local out = {}
      local back, order = {}, {}
      for g = 1, #KEYS, step do
        local n = tonumber(ARGV[a + 1])
        local want = {}
        for i = a + 2, a + 2 * n, 2 do
          want[ARGV[i]] = ARGV[i + 1]
        end
        local _, ids = take(KEYS[g], KEYS[g + 1], ARGV[a], want)
        a = a + 2 + 2 * n
        out[#out + 1] = #ids
        if counted and #ids > 0 and not back[KEYS[g + 2]] then
          back[KEYS[g + 2]] = {}
          order[#order + 1] = KEYS[g + 2]
        end
        for _, id in ipairs(ids) do
          out[#out + 1] = id
          if counted then
            local b = back[KEYS[g + 2]]
            b[want[id]] = (b[want[id]] or 0) + 1
          end
        end
      end
      for _, key in ipairs(order) do
        for bucket, c in pairs(back[key]) do
          give_back(key, bucket, c)
        end
      end
      return out
      """;

  /** KEYS: queue, app set; ARGV: app id. Returns the dropped items. */
  private static final String CLEAR =
      """
      local items = redis.call('LRANGE', KEYS[1], 0, -1)
      redis.call('DEL', KEYS[1])
      redis.call('SREM', KEYS[2], ARGV[1])
      return items
      """;

  /**
   * The enqueue of {@link #ENQUEUE} and the wake-ups of the recipients, in one call ({@link
   * #enqueueAndWake}), on one Redis with the room of the items taken first. KEYS: per queue (queue,
   * app set), then per user their presence hash, then per application its count (none when the room
   * was taken before). ARGV: capacity, queue count n, user count m, the calling node, publish ("1":
   * publish the wake-ups; else return their parts), the channel name before and after the node id,
   * the channel name before a node id holding a brace, a message's opening and closing, the queue
   * ttl (ms), the cutoff of {@link #PUSH} (epoch ms), the count of applications c; then, when c is
   * above 0, {@link #ADMIT_ROOM}'s arguments; then per queue as {@link #ENQUEUE}'s (app id, item
   * count, items); then per user the parts of their delivery before and after the sessions. With n
   * = 0 it is the lookup alone. When the room is not there for every item, it takes the room there
   * is and stores nothing: it returns {per application the room it took}, for the caller to store
   * and wake for those items alone. Else it returns {enqueue results as {@link #PUSH}'s, {user
   * index, count, sessions ...} per user with sessions on the calling node, the number of messages
   * published or {node, part, ...}}.
   */
  private static final String ENQUEUE_WAKE =
      SpreadCalls.PROLOGUE
          + SpreadCalls.CHECK
          + ADMIT_ROOM
          + PUSH
          + """
      local n = tonumber(ARGV[2])
      local m = tonumber(ARGV[3])
      local self = ARGV[4]
      local c = tonumber(ARGV[13])
      local e = check(1, 2 * n, 2) or check(2 * n + 1, #KEYS, 1)
      if e then
        return e
      end
      local a = 14
      if c > 0 then
        local took, all
        took, all, a = admit(2 * n + m + 1, 2 * n + m + c, a)
        if not all then
          return {took}
        end
      end
      local enq = {}
      local u = push(tonumber(ARGV[1]), tonumber(ARGV[11]), tonumber(ARGV[12]), n, a, enq) - 1
      local own, parts, nodes = {}, {}, {}
      for j = 1, m do
        local h = redis.call('HGETALL', KEYS[2 * n + j])
        local at, order = {}, {}
        for f = 1, #h, 2 do
          if string.sub(h[f], 1, 2) == 'd:' then
            local ok, d = pcall(cjson.decode, h[f + 1])
            if ok and type(d) == 'table' then
              local s, node = d.o, d.n
              if type(s) == 'string' and #s == 36 and string.match(s, '^%x+%-%x+%-%x+%-%x+%-%x+$')
                  and type(node) == 'string' and node ~= '' then
                if at[node] == nil then
                  at[node] = {}
                  order[#order + 1] = node
                end
                table.insert(at[node], s)
              end
            end
          end
        end
        for _, node in ipairs(order) do
          if node == self then
            own[#own + 1] = j
            own[#own + 1] = #at[node]
            for _, s in ipairs(at[node]) do
              own[#own + 1] = s
            end
          else
            if parts[node] == nil then
              parts[node] = {}
              nodes[#nodes + 1] = node
            end
            table.insert(parts[node],
              ARGV[u + 2 * j - 1] .. '"' .. table.concat(at[node], '","') .. '"' .. ARGV[u + 2 * j])
          end
        end
      end
      local wakes
      if ARGV[5] == '1' then
        for _, node in ipairs(nodes) do
          local channel
          if string.find(node, '{', 1, true) then
            channel = ARGV[8] .. node
          else
            channel = ARGV[6] .. node .. ARGV[7]
          end
          redis.call('PUBLISH', channel, ARGV[9] .. table.concat(parts[node], ',') .. ARGV[10])
        end
        wakes = #nodes
      else
        wakes = {}
        for _, node in ipairs(nodes) do
          for _, p in ipairs(parts[node]) do
            wakes[#wakes + 1] = node
            wakes[#wakes + 1] = p
          end
        end
      end
      return {enq, own, wakes}
      """;

  private final RedisClusterAsyncCommands<String, byte[]> redis;
  private final RedisKeys keys;
  private final RedisScript enqueue;
  private final RedisScript pending;
  private final RedisScript pendingDeclared;
  private final RedisScript removeAll;
  private final RedisScript removeDelivered;
  private final RedisScript clear;
  private final RedisScript enqueueWake;
  private final RedisScript withItems;
  private final RedisBackend backend;
  private final int ackReplicas;
  private final long ackTimeoutMillis;
  private final IntFunction<String> primaryOf;
  private final byte[] queueTtlMs;
  private final RedisScript admit;
  private final RedisScript release;
  private final long maxQueuedPerApp;
  private final long bucketMs;
  private final long retentionMs;
  private final byte[] keptBuckets;
  private final byte[] countTtlMs;

  public RedisNotificationQueues(RedisBackend backend) {
    this(backend, StoreConfig.DEFAULT_QUEUE_RETENTION);
  }

  /** The queues on {@code backend}, each expiring {@code queueRetention} after its last push. */
  public RedisNotificationQueues(RedisBackend backend, Duration queueRetention) {
    this(backend, queueRetention, DEFAULT_MAX_QUEUED_PER_APP);
  }

  /**
   * The queues on {@code backend}, each expiring {@code queueRetention} after its last push, with
   * at most about {@code maxQueuedPerApp} items queued per application (see the class comment).
   */
  public RedisNotificationQueues(
      RedisBackend backend, Duration queueRetention, long maxQueuedPerApp) {
    this(backend, backend::primaryOf, queueRetention, maxQueuedPerApp);
  }

  /**
   * The queues on {@code backend}, grouping a batch's keys by the primary {@code primaryOf} names
   * for their slot (on a Redis Cluster; tests pass a wrong one to show the fall-back to one call
   * per slot).
   */
  RedisNotificationQueues(RedisBackend backend, IntFunction<String> primaryOf) {
    this(backend, primaryOf, StoreConfig.DEFAULT_QUEUE_RETENTION, DEFAULT_MAX_QUEUED_PER_APP);
  }

  private RedisNotificationQueues(
      RedisBackend backend,
      IntFunction<String> primaryOf,
      Duration queueRetention,
      long maxQueuedPerApp) {
    if (maxQueuedPerApp < 1) {
      throw new IllegalArgumentException("maxQueuedPerApp must be at least 1");
    }
    this.backend = backend;
    this.maxQueuedPerApp = maxQueuedPerApp;
    this.retentionMs = Math.max(1, queueRetention.toMillis());
    this.bucketMs = Math.max(1, retentionMs / BUCKETS);
    // An item lives less than two retentions after its push (the push trims what is older than
    // one): its bucket is kept that long, and one bucket more.
    this.keptBuckets = bytes(2 * ((retentionMs + bucketMs - 1) / bucketMs) + 1);
    this.countTtlMs = bytes(2 * retentionMs + 2 * bucketMs);
    this.primaryOf = primaryOf;
    this.redis = backend.commands().async();
    this.keys = backend.keys();
    this.ackReplicas = backend.config().ackReplicas();
    this.ackTimeoutMillis = Math.max(1, backend.config().ackTimeout().toMillis());
    this.queueTtlMs = bytes(Math.max(1, queueRetention.toMillis()));
    this.enqueue = new RedisScript(ENQUEUE, redis);
    this.pending = new RedisScript(PENDING, redis);
    this.pendingDeclared = new RedisScript(PENDING_DECLARED, redis);
    this.removeAll = new RedisScript(REMOVE_ALL, redis);
    this.removeDelivered = new RedisScript(REMOVE_DELIVERED, redis);
    this.clear = new RedisScript(CLEAR, redis);
    this.enqueueWake = new RedisScript(ENQUEUE_WAKE, redis);
    this.admit = new RedisScript(ADMIT, redis);
    this.release = new RedisScript(RELEASE, redis);
    // Once: a question over one half-moved slot goes at once as an EXISTS per user (orBySlot)
    // rather than waiting out the move, which a user without items would do for as long as it
    // lasts (their key is on neither primary, so Redis refuses the call until the slot is moved).
    this.withItems = RedisScript.oneTry(WITH_ITEMS, redis);
  }

  private String queueKey(String userKey, long appId) {
    return keys.user("nq", userKey) + ":" + appId;
  }

  private String appSetKey(String userKey) {
    return keys.user("nqa", userKey);
  }

  private static byte[] bytes(Object o) {
    return String.valueOf(o).getBytes(StandardCharsets.UTF_8);
  }

  /** The slot of user {@code userSub}'s keys on a Redis Cluster; 0 for all on one Redis. */
  private int slot(String userSub) {
    return backend.cluster() ? SlotHash.getSlot(appSetKey(UserKeys.of(userSub))) : 0;
  }

  /**
   * Which keys one script call may take together: on a Redis Cluster those of one primary (a slot
   * whose primary is not known goes alone); on one Redis all of them.
   */
  private Object shard(int slot) {
    if (!backend.cluster()) {
      return 0;
    }
    String primary = primaryOf.apply(slot);
    return primary != null ? primary : slot;
  }

  /**
   * {@code script} (one that starts with {@link SpreadCalls#PROLOGUE}) over {@code keys}. A call
   * over one slot goes again after a short wait while Redis refuses it because the slot is half
   * moved to another primary ({@link RedisScript}: a user's queue and set of queues may be apart
   * for a moment during a reshard); a call over several slots is refused then, and goes per slot.
   */
  private <T> CompletableFuture<T> run(
      RedisScript script, ScriptOutputType type, String[] keys, byte[][] args) {
    return SpreadCalls.<T>run(script, backend, type, keys, args).toCompletableFuture();
  }

  /**
   * {@link #run} on {@code on}, a connection to one server for a write replicas must confirm
   * ({@link #replicated}), or, when {@code on} is null, as {@link #run} makes it.
   */
  private <T> CompletableFuture<T> run(
      RedisScript script,
      RedisClusterAsyncCommands<String, byte[]> on,
      ScriptOutputType type,
      String[] keys,
      byte[][] args) {
    if (on == null) {
      return run(script, type, keys, args);
    }
    return SpreadCalls.<T>runOn(script, on, backend.cluster(), type, keys, args)
        .toCompletableFuture();
  }

  @Override
  public CompletionStage<List<Enqueued>> enqueueAll(List<Entry> entries) {
    if (entries.isEmpty()) {
      return CompletableFuture.completedFuture(List.of());
    }
    return admit(entries)
        .thenCompose(
            ok -> {
              List<Entry> in = admitted(entries, ok);
              if (in.isEmpty()) {
                return CompletableFuture.completedFuture(refusedAll(entries.size()));
              }
              StoredParts parts = new StoredParts();
              return settled(in, parts, started(() -> enqueueStored(in, parts)), r -> r)
                  .thenApply(r -> inPlace(ok, r));
            });
  }

  /**
   * What the store calls of one batch stored, each call as it succeeded: when another call of the
   * batch fails, the room of what these stored stays taken (their items are queued) and the rest is
   * given back.
   */
  private static final class StoredParts {
    private final Set<Entry> stored =
        java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    private final List<Notification> dropped = new ArrayList<>();

    synchronized void add(List<Entry> part, List<Enqueued> results) {
      stored.addAll(part);
      for (Enqueued q : results) {
        dropped.addAll(q.dropped());
      }
    }

    /** The items of {@code in} no call stored, and those the calls that did dropped. */
    synchronized List<Notification> notQueued(List<Entry> in) {
      List<Notification> out = new ArrayList<>(dropped);
      for (Entry e : in) {
        if (!stored.contains(e)) {
          out.add(e.notification());
        }
      }
      return out;
    }
  }

  /**
   * Stores {@code entries}: one call per primary, at once (one in all on one Redis); each call that
   * succeeds is noted in {@code parts}.
   */
  private CompletionStage<List<Enqueued>> enqueueStored(List<Entry> entries, StoredParts parts) {
    return SpreadCalls.split(
        entries, e -> shard(slot(e.userSub())), part -> enqueuePrimary(part, parts));
  }

  // ---------------------------------------------------------------------------------------------
  // The per-application count (see the class comment)

  /** What a push drops from its queue's head: items created before this (epoch ms). */
  private byte[] cutoff() {
    return bytes(System.currentTimeMillis() - retentionMs);
  }

  private String countKey(long appId) {
    return keys.app("nqc", appId);
  }

  /** The slot of application {@code appId}'s count on a Redis Cluster; 0 for all on one Redis. */
  private int appSlot(long appId) {
    return backend.cluster() ? SlotHash.getSlot(countKey(appId)) : 0;
  }

  /** The bucket of {@code n}'s count: its creation time in buckets. */
  private String bucketOf(Notification n) {
    return Long.toString(Math.floorDiv(n.createdAt().toEpochMilli(), bucketMs));
  }

  /**
   * Per entry whether its application has room for it: one {@link #ADMIT} call per primary of the
   * applications' counts, at once (one in all on one Redis), or one per slot when a primary refuses
   * the call.
   */
  private CompletionStage<List<Boolean>> admit(List<Entry> entries) {
    // What the calls that succeeded took: given back when another call of the batch fails, as the
    // batch is then refused whole.
    List<Notification> took = java.util.Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<List<Boolean>> out = new CompletableFuture<>();
    SpreadCalls.split(
            entries,
            e -> shard(appSlot(e.notification().appId())),
            part ->
                SpreadCalls.orBySlot(
                    admitCall(part, took),
                    () ->
                        SpreadCalls.split(
                            part, e -> appSlot(e.notification().appId()), p -> admitCall(p, took))))
        .whenComplete(
            (ok, e) -> {
              if (e == null) {
                out.complete(ok);
                return;
              }
              List<Notification> back;
              synchronized (took) {
                back = new ArrayList<>(took);
              }
              release(back).whenComplete((v, x) -> out.completeExceptionally(e));
            });
    return out;
  }

  /** One {@link #ADMIT} call; what it took is added to {@code taken}. */
  private CompletionStage<List<Boolean>> admitCall(List<Entry> entries, List<Notification> taken) {
    Admission room = new Admission(entries);
    return this.<List<Object>>run(admit, ScriptOutputType.MULTI, room.keys(), room.args())
        .thenApply(
            out -> {
              List<Boolean> ok = room.admitted(out);
              for (int i = 0; i < ok.size(); i++) {
                if (ok.get(i)) {
                  taken.add(entries.get(i).notification());
                }
              }
              return ok;
            });
  }

  /**
   * The keys and arguments of {@link #ADMIT_ROOM} for a batch's entries (per application its count,
   * its items by bucket), and the reading of its answer.
   */
  private final class Admission {
    private final List<Entry> entries;
    private final Map<Long, List<Integer>> byApp = new LinkedHashMap<>();
    private final List<String> keys;
    private final List<byte[]> args = new ArrayList<>();

    Admission(List<Entry> entries) {
      this.entries = entries;
      for (int i = 0; i < entries.size(); i++) {
        byApp.computeIfAbsent(entries.get(i).notification().appId(), a -> new ArrayList<>()).add(i);
      }
      keys = new ArrayList<>(byApp.size());
      args.add(bytes(maxQueuedPerApp));
      args.add(bytes(bucketMs));
      args.add(keptBuckets);
      args.add(countTtlMs);
      byApp.forEach(
          (app, at) -> {
            keys.add(countKey(app));
            List<Notification> items = new ArrayList<>(at.size());
            for (int i : at) {
              items.add(entries.get(i).notification());
            }
            addRuns(args, items);
          });
    }

    String[] keys() {
      return keys.toArray(String[]::new);
    }

    byte[][] args() {
      return args.toArray(byte[][]::new);
    }

    /** Per entry whether it has room, from the script's per-application answer. */
    List<Boolean> admitted(List<Object> took) {
      Boolean[] ok = new Boolean[entries.size()];
      java.util.Arrays.fill(ok, Boolean.FALSE);
      int a = 0;
      for (List<Integer> at : byApp.values()) {
        long n = (Long) took.get(a++);
        for (int j = 0; j < n && j < at.size(); j++) {
          ok[at.get(j)] = Boolean.TRUE;
        }
      }
      return List.of(ok);
    }
  }

  /** Adds the run count, then per run of items of one bucket the bucket and the run's length. */
  private void addRuns(List<byte[]> args, List<Notification> items) {
    int countAt = args.size();
    args.add(null);
    int runs = 0;
    String bucket = null;
    int n = 0;
    for (Notification item : items) {
      String b = bucketOf(item);
      if (!b.equals(bucket)) {
        if (bucket != null) {
          args.add(bytes(bucket));
          args.add(bytes(n));
          runs++;
        }
        bucket = b;
        n = 0;
      }
      n++;
    }
    args.add(bytes(bucket));
    args.add(bytes(n));
    args.set(countAt, bytes(runs + 1));
  }

  /**
   * Gives back the room of {@code gone}, items that left their queues: one {@link #RELEASE} call
   * per primary of their applications' counts. Never fails: a count not given back (Redis did not
   * answer) is logged and stays in its bucket until the bucket is older than the retention.
   */
  private CompletionStage<Void> release(Collection<Notification> gone) {
    if (gone.isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    Map<Long, List<Notification>> byApp = new LinkedHashMap<>();
    for (Notification n : gone) {
      byApp.computeIfAbsent(n.appId(), a -> new ArrayList<>()).add(n);
    }
    for (List<Notification> items : byApp.values()) {
      items.sort(java.util.Comparator.comparing(Notification::createdAt));
    }
    List<Long> apps = new ArrayList<>(byApp.keySet());
    return SpreadCalls.split(
            apps,
            app -> shard(appSlot(app)),
            part ->
                SpreadCalls.orBySlot(
                    releaseCall(part, byApp),
                    () -> SpreadCalls.split(part, this::appSlot, p -> releaseCall(p, byApp))))
        .handle(
            (v, e) -> {
              if (e != null) {
                RELEASE_FAILED.warn(
                    "notification queues: could not give back the count of "
                        + gone.size()
                        + " items that left their queues (their applications' counts stay over"
                        + " until their buckets expire): "
                        + e);
              }
              return null;
            });
  }

  private CompletionStage<List<Object>> releaseCall(
      List<Long> apps, Map<Long, List<Notification>> byApp) {
    String[] k = new String[apps.size()];
    List<byte[]> args = new ArrayList<>();
    for (int i = 0; i < k.length; i++) {
      k[i] = countKey(apps.get(i));
      addRuns(args, byApp.get(apps.get(i)));
    }
    return this.<Long>run(release, ScriptOutputType.INTEGER, k, args.toArray(byte[][]::new))
        .thenApply(v -> java.util.Collections.nCopies(apps.size(), (Object) v));
  }

  private static List<Entry> admitted(List<Entry> entries, List<Boolean> ok) {
    List<Entry> in = new ArrayList<>(entries.size());
    for (int i = 0; i < entries.size(); i++) {
      if (ok.get(i)) {
        in.add(entries.get(i));
      }
    }
    return in;
  }

  private static List<Enqueued> refusedAll(int n) {
    return java.util.Collections.nCopies(n, Enqueued.APP_FULL);
  }

  /** The results of the admitted entries ({@code stored}) among refusals, in entry order. */
  private static List<Enqueued> inPlace(List<Boolean> ok, List<Enqueued> stored) {
    List<Enqueued> out = new ArrayList<>(ok.size());
    int s = 0;
    for (Boolean b : ok) {
      out.add(b ? stored.get(s++) : Enqueued.APP_FULL);
    }
    return out;
  }

  /**
   * {@code call}'s stage, or a failed one when it throws before returning one (the items' encoding,
   * say): the room taken before it is then given back by {@link #settled} like that of a failed
   * call. Defensive: no input is known to make a store call throw.
   */
  private static <T> CompletionStage<T> started(Supplier<CompletionStage<T>> call) {
    try {
      return call.get();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * {@code stored}, the store calls of the admitted entries {@code in}, once the counts are right:
   * after a failure the room taken for the entries no call stored is given back, with that of the
   * items the calls that did succeed dropped from full queues (on a Redis Cluster one primary's
   * call may fail while another's stored its part; a failure whose part was stored anyway, replicas
   * not confirming it in time, then counts it under), after a success the room of the items it
   * dropped from full queues.
   */
  private <R> CompletionStage<R> settled(
      List<Entry> in,
      StoredParts parts,
      CompletionStage<R> stored,
      Function<R, List<Enqueued>> results) {
    CompletableFuture<R> out = new CompletableFuture<>();
    stored.whenComplete(
        (r, e) -> {
          if (e != null) {
            Throwable cause =
                e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            release(parts.notQueued(in)).whenComplete((v, x) -> out.completeExceptionally(cause));
            return;
          }
          List<Notification> dropped = new ArrayList<>();
          for (Enqueued q : results.apply(r)) {
            dropped.addAll(q.dropped());
          }
          release(dropped).whenComplete((v, x) -> out.complete(r));
        });
    return out;
  }

  /**
   * {@link #enqueueAll} for entries whose users' keys are all on one primary: one call, or one per
   * slot when the primary refuses the call (its slots moved).
   */
  private CompletionStage<List<Enqueued>> enqueuePrimary(List<Entry> entries, StoredParts parts) {
    return SpreadCalls.orBySlot(
        enqueueSlot(entries, parts),
        () -> SpreadCalls.split(entries, e -> slot(e.userSub()), p -> enqueueSlot(p, parts)));
  }

  /** {@link #enqueueAll} in one script call ({@link #run}). */
  private CompletionStage<List<Enqueued>> enqueueSlot(List<Entry> entries, StoredParts parts) {
    Queues q = new Queues(entries);
    byte[][] args = new byte[3 + q.args.size()][];
    args[0] = bytes(CAPACITY);
    args[1] = queueTtlMs;
    args[2] = cutoff();
    for (int i = 0; i < q.args.size(); i++) {
      args[3 + i] = q.args.get(i);
    }
    String[] k = q.keys();
    return replicated(
            k[0], on -> this.<List<Object>>run(enqueue, on, ScriptOutputType.MULTI, k, args))
        .thenApply(
            out -> {
              List<Enqueued> r = q.inOrder(enqueued(out));
              parts.add(entries, r);
              return r;
            });
  }

  /**
   * Entries grouped by (user, app) queue, in the order of each queue's first entry, for {@link
   * #PUSH}: per queue its two keys and its arguments (app id, item count, items in order).
   */
  private final class Queues {
    final List<String> keys = new ArrayList<>();
    final List<byte[]> args = new ArrayList<>();

    /** The entry index of each of {@link #PUSH}'s results, in the order it returns them. */
    private final int[] order;

    Queues(List<Entry> entries) {
      Map<String, List<Integer>> byQueue = new LinkedHashMap<>();
      for (int i = 0; i < entries.size(); i++) {
        Notification n = entries.get(i).notification();
        byQueue
            .computeIfAbsent(
                queueKey(UserKeys.of(entries.get(i).userSub()), n.appId()), x -> new ArrayList<>())
            .add(i);
      }
      order = new int[entries.size()];
      int r = 0;
      for (Map.Entry<String, List<Integer>> queue : byQueue.entrySet()) {
        Entry first = entries.get(queue.getValue().get(0));
        keys.add(queue.getKey());
        keys.add(appSetKey(UserKeys.of(first.userSub())));
        args.add(bytes(first.notification().appId()));
        args.add(bytes(queue.getValue().size()));
        for (int i : queue.getValue()) {
          args.add(NotificationCodec.encode(entries.get(i).notification()));
          order[r++] = i;
        }
      }
    }

    int count() {
      return keys.size() / 2;
    }

    String[] keys() {
      return keys.toArray(String[]::new);
    }

    /** {@link #PUSH}'s results put back in the order of the entries. */
    List<Enqueued> inOrder(List<Enqueued> got) {
      Enqueued[] results = new Enqueued[order.length];
      for (int r = 0; r < order.length; r++) {
        results[order[r]] = got.get(r);
      }
      return List.of(results);
    }
  }

  /**
   * How the wake-ups of {@link #enqueueAndWake} are written: their format is the caller's, the
   * store only puts the parts together. A node's message is {@link #open}, then the parts of the
   * users with sessions on that node separated by {@code ,}, then {@link #close}; a user's part is
   * {@link #user}'s first part, the user's sessions on that node as JSON strings separated by
   * {@code ,}, then its second part.
   */
  public interface WakeFormat {
    /** The calling node: its users' sessions come back ({@link Woken#local}), unpublished. */
    String localNode();

    /** The bus channel of a node's wake-ups is this followed by the node id. */
    String channelPrefix();

    byte[] open();

    byte[] close();

    /** {@code user}'s part of a wake-up carrying {@code items}, cut where the sessions go. */
    byte[][] user(String user, List<Notification> items);
  }

  /**
   * What {@link #enqueueAndWake} did.
   *
   * @param enqueued one result per entry, in order, as {@link #enqueueAll}'s
   * @param local the sessions on the calling node, by user (to push to there)
   * @param unsent the wake-ups the caller must publish, by node (on a Redis Cluster, or when
   *     replicas must acknowledge the batch first: see {@link #enqueueAndWake})
   * @param published the wake-ups the store published itself
   * @param lookupFailure when the sessions could not be looked up after the items were stored
   *     (Redis Cluster only; the items wait for the users' next session), else {@code null}
   */
  public record Woken(
      List<Enqueued> enqueued,
      Map<String, List<UUID>> local,
      Map<String, byte[]> unsent,
      int published,
      Throwable lookupFailure) {}

  /**
   * {@link #enqueueAll}, and in the same script call the recipients' sessions: each user's device
   * entries are read from their presence hash (the {@code HGETALL} a node made per recipient
   * before), the sessions on the calling node come back, and each other node holding one of the
   * users' sessions gets one wake-up on its bus channel, with the items and sessions of all its
   * users ({@link WakeFormat}). Reading the sessions in the call that stores the items keeps the
   * rule of docs/notifications.md: a session claimed before the call is found by it, one claimed
   * after reads the items as pending.
   *
   * <p>On one Redis that is one call ({@code EVALSHA}) for the whole batch. With {@code
   * store.redis.ack-replicas} the wake-ups are not published by the script but returned, for the
   * caller to publish once the replicas confirmed ({@link Woken#unsent}). On a Redis Cluster a
   * user's presence hash and queues are in different slots (the queues' tag is the user's key, not
   * their identity): the batch is stored as {@link #enqueueAll} does, one call per primary, then
   * the sessions are read with one call of the same script per primary holding presence hashes, and
   * the wake-ups are returned for the caller to publish ({@code SPUBLISH} on each node's shard).
   */
  public CompletionStage<Woken> enqueueAndWake(List<Entry> entries, WakeFormat format) {
    if (entries.isEmpty()) {
      return CompletableFuture.completedFuture(new Woken(List.of(), Map.of(), Map.of(), 0, null));
    }
    if (!backend.cluster()) {
      return admitAndWake(entries, format);
    }
    // Room first: a refused item is neither stored nor in a wake-up.
    return admit(entries).thenCompose(ok -> storeAndWake(entries, ok, format));
  }

  /**
   * Stores and wakes for the entries whose room was taken ({@code ok}), the others refused; the
   * room of what no call stored is given back ({@link #settled}).
   */
  private CompletionStage<Woken> storeAndWake(
      List<Entry> entries, List<Boolean> ok, WakeFormat format) {
    List<Entry> in = admitted(entries, ok);
    if (in.isEmpty()) {
      return CompletableFuture.completedFuture(
          new Woken(refusedAll(entries.size()), Map.of(), Map.of(), 0, null));
    }
    StoredParts parts = new StoredParts();
    return settled(
            in, parts, started(() -> enqueueAndWakeAdmitted(in, format, parts)), Woken::enqueued)
        .thenApply(
            w ->
                new Woken(
                    inPlace(ok, w.enqueued()),
                    w.local(),
                    w.unsent(),
                    w.published(),
                    w.lookupFailure()));
  }

  /**
   * {@link #enqueueAndWake} on one Redis: one call takes the room, stores and wakes. When some item
   * has no room that call takes the room of those that do and stores nothing, and a second call
   * stores and wakes for them (as on a Redis Cluster after {@link #admit}). A failed call gives
   * nothing back: it took the room of the items it stored, or ran not at all (Redis refused it, or
   * it never reached Redis), or its answer was lost; only items it dropped from full queues stay
   * counted then, until their bucket goes (and, when the lost answer was a call that stored
   * nothing, the room it took). A call that answered it stored nothing and then failed ({@code
   * WAIT}: replicas did not confirm it, or the connection was lost before they did) gives back the
   * room it took.
   */
  private CompletionStage<Woken> admitAndWake(List<Entry> entries, WakeFormat format) {
    Map<String, List<Notification>> byUser = byUser(entries);
    List<String> users = new ArrayList<>(byUser.keySet());
    boolean publish = ackReplicas == 0;
    Admission room = new Admission(entries);
    // The call's answer, when Redis gave one, for a failure after it (WAIT).
    java.util.concurrent.atomic.AtomicReference<Reply> answered =
        new java.util.concurrent.atomic.AtomicReference<>();
    return replicated(
            keys.presence(users.get(0)),
            on ->
                wake(entries, users, byUser, format, publish, on, room)
                    .thenApply(
                        r -> {
                          answered.set(r);
                          return r;
                        }))
        .exceptionallyCompose(
            e -> {
              Reply r = answered.get();
              if (r == null || r.took == null) {
                return CompletableFuture.failedFuture(e);
              }
              // It took room and stored nothing: that room is given back.
              return settled(
                  admitted(entries, room.admitted(r.took)),
                  new StoredParts(),
                  CompletableFuture.<Reply>failedFuture(e),
                  x -> List.of());
            })
        .thenCompose(
            r -> {
              if (r.took == null) {
                Woken w = r.toWoken(format);
                return settled(
                    entries,
                    new StoredParts(),
                    CompletableFuture.completedFuture(w),
                    Woken::enqueued);
              }
              return storeAndWake(entries, room.admitted(r.took), format);
            });
  }

  private static Map<String, List<Notification>> byUser(List<Entry> entries) {
    Map<String, List<Notification>> byUser = new LinkedHashMap<>();
    for (Entry e : entries) {
      byUser.computeIfAbsent(e.userSub(), u -> new ArrayList<>()).add(e.notification());
    }
    return byUser;
  }

  /** {@link #enqueueAndWake} of entries that have room. */
  private CompletionStage<Woken> enqueueAndWakeAdmitted(
      List<Entry> entries, WakeFormat format, StoredParts parts) {
    Map<String, List<Notification>> byUser = byUser(entries);
    if (!backend.cluster()) {
      boolean publish = ackReplicas == 0;
      List<String> users = new ArrayList<>(byUser.keySet());
      return replicated(
              keys.presence(users.get(0)),
              on -> wake(entries, users, byUser, format, publish, on, null))
          .thenApply(r -> r.toWoken(format));
    }
    return enqueueStored(entries, parts)
        .thenCompose(
            enqueued ->
                lookUpBy(
                        new ArrayList<>(byUser.keySet()),
                        user -> shard(presenceSlot(user)),
                        users -> lookUp(users, byUser, format))
                    .handle(
                        (replies, e) -> {
                          if (e != null) {
                            Throwable cause = e instanceof CompletionException ? e.getCause() : e;
                            return new Woken(enqueued, Map.of(), Map.of(), 0, cause);
                          }
                          Reply all = new Reply(enqueued);
                          replies.forEach(all::add);
                          return all.toWoken(format);
                        }));
  }

  private int presenceSlot(String user) {
    return SlotHash.getSlot(keys.presence(user));
  }

  /**
   * The sessions of {@code users}, whose presence hashes are on one primary: one {@link #wake}
   * call, or one per slot when the primary refuses it.
   */
  private CompletionStage<List<Reply>> lookUp(
      List<String> users, Map<String, List<Notification>> byUser, WakeFormat format) {
    return SpreadCalls.orBySlot(
        wake(List.of(), users, byUser, format, false, null, null).thenApply(List::of),
        () ->
            lookUpBy(
                users,
                this::presenceSlot,
                part ->
                    wake(List.of(), part, byUser, format, false, null, null).thenApply(List::of)));
  }

  /** {@code call} once per group of {@code users} ({@code groupOf}), at once; all the replies. */
  private static CompletionStage<List<Reply>> lookUpBy(
      List<String> users,
      Function<String, Object> groupOf,
      Function<List<String>, CompletionStage<List<Reply>>> call) {
    Map<Object, List<String>> byGroup = new LinkedHashMap<>();
    for (String user : users) {
      byGroup.computeIfAbsent(groupOf.apply(user), g -> new ArrayList<>()).add(user);
    }
    List<CompletableFuture<List<Reply>>> calls = new ArrayList<>(byGroup.size());
    for (List<String> part : byGroup.values()) {
      calls.add(call.apply(part).toCompletableFuture());
    }
    return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new))
        .thenApply(
            v -> {
              List<Reply> all = new ArrayList<>();
              calls.forEach(c -> all.addAll(c.join()));
              return all;
            });
  }

  /**
   * One {@link #ENQUEUE_WAKE} call ({@link #run}, on {@code on} when not null): {@code entries} and
   * {@code users} all in one slot, or, for the lookup alone, on one primary; taking the room of
   * {@code room} first when it is not null (on one Redis).
   */
  private CompletionStage<Reply> wake(
      List<Entry> entries,
      List<String> users,
      Map<String, List<Notification>> byUser,
      WakeFormat format,
      boolean publish,
      RedisClusterAsyncCommands<String, byte[]> on,
      Admission room) {
    Queues q = new Queues(entries);
    int n = q.count();
    List<String> counts = room == null ? List.of() : room.keys;
    List<byte[]> roomArgs = room == null ? List.of() : room.args;
    String[] k = new String[2 * n + users.size() + counts.size()];
    byte[][] args = new byte[13 + roomArgs.size() + q.args.size() + 2 * users.size()][];
    args[0] = bytes(CAPACITY);
    args[1] = bytes(n);
    args[2] = bytes(users.size());
    args[3] = bytes(format.localNode());
    args[4] = bytes(publish ? "1" : "0");
    // RedisKeys.channel: "<prefix>ch:{<channel>}", or "<prefix>ch:<channel>" for a tagged name.
    String marker = "\u0000";
    String plain = keys.channel(format.channelPrefix() + marker);
    args[5] = bytes(plain.substring(0, plain.indexOf(marker)));
    args[6] = bytes(plain.substring(plain.indexOf(marker) + 1));
    String tagged = keys.channel(format.channelPrefix() + "{" + marker);
    args[7] = bytes(tagged.substring(0, tagged.indexOf("{" + marker)));
    args[8] = format.open();
    args[9] = format.close();
    args[10] = queueTtlMs;
    args[11] = cutoff();
    args[12] = bytes(counts.size());
    for (int i = 0; i < 2 * n; i++) {
      k[i] = q.keys.get(i);
    }
    int a = 13;
    for (byte[] arg : roomArgs) {
      args[a++] = arg;
    }
    for (byte[] arg : q.args) {
      args[a++] = arg;
    }
    for (int j = 0; j < users.size(); j++) {
      String user = users.get(j);
      k[2 * n + j] = keys.presence(user);
      byte[][] parts = format.user(user, byUser.get(user));
      args[a++] = parts[0];
      args[a++] = parts[1];
    }
    for (int i = 0; i < counts.size(); i++) {
      k[2 * n + users.size() + i] = counts.get(i);
    }
    return this.<List<Object>>run(enqueueWake, on, ScriptOutputType.MULTI, k, args)
        .thenApply(out -> out.size() == 1 ? Reply.refused(out) : new Reply(users, out, q));
  }

  /** What {@link #ENQUEUE_WAKE} answered, merged over the calls of one batch. */
  private static final class Reply {
    final List<Enqueued> enqueued;
    final Map<String, List<UUID>> local = new LinkedHashMap<>();
    final Map<String, List<byte[]>> parts = new LinkedHashMap<>();
    int published;

    /** When the call found no room for some item: per application the room it took, else null. */
    List<Object> took;

    Reply(List<Enqueued> enqueued) {
      this.enqueued = enqueued;
    }

    /** A call that stored nothing, having taken per application the room in {@code out}. */
    @SuppressWarnings("unchecked")
    static Reply refused(List<Object> out) {
      Reply r = new Reply(List.of());
      r.took = (List<Object>) out.get(0);
      return r;
    }

    @SuppressWarnings("unchecked")
    Reply(List<String> users, List<Object> out, Queues queues) {
      this.enqueued = queues.inOrder(enqueued((List<Object>) out.get(0)));
      List<Object> own = (List<Object>) out.get(1);
      int i = 0;
      while (i < own.size()) {
        String user = users.get(((Long) own.get(i++)).intValue() - 1);
        int count = ((Long) own.get(i++)).intValue();
        List<UUID> sessions = local.computeIfAbsent(user, u -> new ArrayList<>());
        for (int c = 0; c < count; c++) {
          sessions.add(UUID.fromString(new String((byte[]) own.get(i++), StandardCharsets.UTF_8)));
        }
      }
      if (out.get(2) instanceof Long count) {
        published = count.intValue();
      } else {
        List<Object> wakes = (List<Object>) out.get(2);
        for (int w = 0; w + 1 < wakes.size(); w += 2) {
          parts
              .computeIfAbsent(
                  new String((byte[]) wakes.get(w), StandardCharsets.UTF_8), x -> new ArrayList<>())
              .add((byte[]) wakes.get(w + 1));
        }
      }
    }

    void add(Reply r) {
      r.local.forEach((u, s) -> local.computeIfAbsent(u, x -> new ArrayList<>()).addAll(s));
      r.parts.forEach((node, p) -> parts.computeIfAbsent(node, x -> new ArrayList<>()).addAll(p));
      published += r.published;
    }

    Woken toWoken(WakeFormat format) {
      Map<String, byte[]> unsent = new LinkedHashMap<>();
      parts.forEach(
          (node, p) -> {
            java.io.ByteArrayOutputStream m = new java.io.ByteArrayOutputStream();
            m.writeBytes(format.open());
            for (int i = 0; i < p.size(); i++) {
              if (i > 0) {
                m.write(',');
              }
              m.writeBytes(p.get(i));
            }
            m.writeBytes(format.close());
            unsent.put(node, m.toByteArray());
          });
      return new Woken(enqueued, local, unsent, published, null);
    }
  }

  /** {@link #ENQUEUE}'s answer: per item the queue size, the dropped count, the dropped items. */
  private static List<Enqueued> enqueued(List<Object> out) {
    List<Enqueued> results = new ArrayList<>();
    int i = 0;
    while (i < out.size()) {
      int size = ((Long) out.get(i++)).intValue();
      int droppedCount = ((Long) out.get(i++)).intValue();
      List<Notification> dropped = new ArrayList<>(droppedCount);
      for (int d = 0; d < droppedCount; d++) {
        dropped.add(NotificationCodec.decode((byte[]) out.get(i++)));
      }
      results.add(new Enqueued(size, dropped));
    }
    return results;
  }

  /**
   * Runs {@code write} (given null: routed as usual) or, when replicas must acknowledge, {@code
   * write} on the connection for such writes to {@code key}'s server ({@link
   * RedisBackend#acknowledgedOn}), then {@code WAIT} on that connection right after it answers;
   * fails with {@code BACKEND_UNAVAILABLE} when fewer replicas than asked confirm within the
   * timeout or the connection was lost in between (a {@code WAIT} on a new connection covers none
   * of the writes of the old one). A write refused with a redirection (a Redis Cluster primary that
   * no longer holds the slot, or is moving it) fails too; after a {@code MOVED} the topology is
   * reloaded for the retry.
   */
  private <T> CompletionStage<T> replicated(
      String key, Function<RedisClusterAsyncCommands<String, byte[]>, CompletionStage<T>> write) {
    if (ackReplicas == 0) {
      return write.apply(null);
    }
    return backend
        .acknowledgedOn(key)
        .exceptionallyCompose(e -> CompletableFuture.failedFuture(RedisErrors.unavailable(e)))
        .thenCompose(on -> waitedFor(on, write));
  }

  private <T> CompletionStage<T> waitedFor(
      RedisClusterAsyncCommands<String, byte[]> on,
      Function<RedisClusterAsyncCommands<String, byte[]>, CompletionStage<T>> write) {
    long disconnects = backend.acknowledgedDisconnects();
    return write
        .apply(on)
        .whenComplete(
            (v, e) -> {
              if (e != null && RedisErrors.answered(e, "MOVED")) {
                backend.refreshTopology();
              }
            })
        .thenCompose(
            result ->
                RedisErrors.call(() -> on.waitForReplication(ackReplicas, ackTimeoutMillis))
                    .thenApply(
                        reached -> {
                          if (backend.acknowledgedDisconnects() != disconnects) {
                            throw notReplicated(
                                "the connection to Redis was lost before replicas confirmed the"
                                    + " write");
                          }
                          if (reached < ackReplicas) {
                            throw notReplicated(
                                reached
                                    + " of "
                                    + ackReplicas
                                    + " replicas confirmed the write"
                                    + " within "
                                    + ackTimeoutMillis
                                    + " ms");
                          }
                          return result;
                        }));
  }

  private static CompletionException notReplicated(String why) {
    return new CompletionException(
        new StoreException(ErrorCode.BACKEND_UNAVAILABLE, "redis: " + why));
  }

  /**
   * One script call on one Redis. On a Redis Cluster two: the user's set of queues ({@code
   * SMEMBERS}), then one call that declares the set and each of those queues ({@link
   * #PENDING_DECLARED}). A queue whose app joins the set between the two was filled after the
   * session that asks was claimed, so that filling found the session and pushed the items to it.
   */
  @Override
  public CompletionStage<List<Notification>> pending(String userSub) {
    String userKey = UserKeys.of(userSub);
    if (!backend.cluster()) {
      return pending
          .<List<Object>>run(
              ScriptOutputType.MULTI,
              new String[] {appSetKey(userKey)},
              bytes(keys.user("nq", userKey) + ":"))
          .thenApply(RedisNotificationQueues::pendingItems);
    }
    return RedisErrors.call(() -> redis.smembers(appSetKey(userKey)))
        .thenCompose(
            apps -> {
              if (apps.isEmpty()) {
                return CompletableFuture.completedFuture(List.<Object>of());
              }
              String[] k = new String[1 + apps.size()];
              byte[][] args = new byte[apps.size()][];
              k[0] = appSetKey(userKey);
              int i = 0;
              for (byte[] app : apps) {
                k[1 + i] = keys.user("nq", userKey) + ":" + new String(app, StandardCharsets.UTF_8);
                args[i++] = app;
              }
              return pendingDeclared.<List<Object>>run(ScriptOutputType.MULTI, k, args);
            })
        .thenApply(RedisNotificationQueues::pendingItems);
  }

  /**
   * One script call per primary ({@link #WITH_ITEMS}, one call in all on one Redis), at once; when
   * a primary refuses a call (a slot moved since the client last saw the topology, or is moving; no
   * primary known for a slot; no connection to it), an {@code EXISTS} per user of that call, which
   * Lettuce routes and redirects.
   */
  @Override
  public CompletionStage<Set<String>> withItems(Collection<String> userSubs) {
    List<String> users = new ArrayList<>(new LinkedHashSet<>(userSubs));
    if (users.isEmpty()) {
      return CompletableFuture.completedFuture(Set.of());
    }
    return SpreadCalls.split(users, u -> shard(slot(u)), this::withItemsPrimary)
        .thenApply(
            flags -> {
              Set<String> out = new HashSet<>();
              for (int i = 0; i < users.size(); i++) {
                if (flags.get(i)) {
                  out.add(users.get(i));
                }
              }
              return out;
            });
  }

  /** {@link #withItems} for users whose keys are all on one primary: per user, whether. */
  private CompletionStage<List<Boolean>> withItemsPrimary(List<String> users) {
    String[] k = new String[users.size()];
    for (int i = 0; i < k.length; i++) {
      k[i] = appSetKey(UserKeys.of(users.get(i)));
    }
    CompletionStage<List<Boolean>> call =
        this.<List<Object>>run(withItems, ScriptOutputType.MULTI, k, new byte[0][])
            .thenApply(flags -> flags.stream().map(f -> ((Long) f) != 0).toList());
    return SpreadCalls.orBySlot(call, () -> withItemsByKey(k));
  }

  private CompletionStage<List<Boolean>> withItemsByKey(String[] keys) {
    List<CompletableFuture<Long>> calls = new ArrayList<>(keys.length);
    for (String key : keys) {
      calls.add(RedisErrors.call(() -> redis.exists(key)).toCompletableFuture());
    }
    return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new))
        .thenApply(v -> calls.stream().map(c -> c.join() != 0).toList());
  }

  /** {@link #PENDING}'s answer as items, ordered by app id. */
  private static List<Notification> pendingItems(List<Object> out) {
    List<Notification> all = new ArrayList<>();
    int i = 0;
    while (i < out.size()) {
      i++; // app id
      int count = ((Long) out.get(i++)).intValue();
      for (int c = 0; c < count; c++) {
        all.add(NotificationCodec.decode((byte[]) out.get(i++)));
      }
    }
    all.sort(java.util.Comparator.comparingLong(Notification::appId));
    return all;
  }

  /** Removes, then gives back the removed items' room ({@link #release}) before completing. */
  @Override
  public CompletionStage<Map<String, List<Notification>>> removeAll(
      Map<String, ? extends Map<Long, ? extends Collection<String>>> idsByUser) {
    return removeStored(idsByUser)
        .thenCompose(
            removed -> {
              List<Notification> gone = new ArrayList<>();
              removed.values().forEach(gone::addAll);
              return release(gone).thenApply(v -> removed);
            });
  }

  private CompletionStage<Map<String, List<Notification>>> removeStored(
      Map<String, ? extends Map<Long, ? extends Collection<String>>> idsByUser) {
    // One call per primary, at once (one in all on one Redis).
    return removeGrouped(
        idsByUser,
        user -> shard(slot(user)),
        part ->
            SpreadCalls.orBySlot(
                removeSlot(part), () -> removeGrouped(part, this::slot, this::removeSlot)));
  }

  /**
   * Removes the items the caller read from these queues (by their ids) and gives back their room,
   * without reading them back: one {@link #REMOVE_DELIVERED} call per primary, at once (one in all
   * on one Redis, which also gives back the room; on a Redis Cluster, where an application's count
   * has a slot of its own, a {@link #release} call follows). The items' buckets in their
   * applications' counts come from their creation times as given, which are those stored.
   */
  @Override
  public CompletionStage<Map<String, List<Notification>>> removeDelivered(
      Map<String, ? extends Collection<Notification>> itemsByUser) {
    Map<String, Map<Long, List<Notification>>> byUser = new LinkedHashMap<>();
    itemsByUser.forEach(
        (user, items) -> {
          for (Notification n : items) {
            byUser
                .computeIfAbsent(user, u -> new LinkedHashMap<>())
                .computeIfAbsent(n.appId(), a -> new ArrayList<>())
                .add(n);
          }
        });
    CompletionStage<Map<String, List<Notification>>> removed =
        removeGrouped(
            byUser,
            user -> shard(slot(user)),
            part ->
                SpreadCalls.orBySlot(
                    deliveredSlot(part),
                    () -> removeGrouped(part, this::slot, this::deliveredSlot)));
    if (!backend.cluster()) {
      return removed;
    }
    return removed.thenCompose(
        r -> {
          List<Notification> gone = new ArrayList<>();
          r.values().forEach(gone::addAll);
          return release(gone).thenApply(v -> r);
        });
  }

  /** {@link #removeDelivered} in one script call ({@link #run}). */
  private CompletionStage<Map<String, List<Notification>>> deliveredSlot(
      Map<String, Map<Long, List<Notification>>> itemsByUser) {
    boolean counted = !backend.cluster();
    List<String> keyList = new ArrayList<>();
    List<byte[]> argList = new ArrayList<>();
    argList.add(bytes(counted ? 1 : 0));
    List<String> groupUsers = new ArrayList<>();
    List<List<Notification>> groupItems = new ArrayList<>();
    itemsByUser.forEach(
        (user, byApp) -> {
          String userKey = UserKeys.of(user);
          byApp.forEach(
              (appId, items) -> {
                keyList.add(queueKey(userKey, appId));
                keyList.add(appSetKey(userKey));
                if (counted) {
                  keyList.add(countKey(appId));
                }
                argList.add(bytes(appId));
                argList.add(bytes(items.size()));
                for (Notification n : items) {
                  argList.add(bytes(n.id()));
                  argList.add(bytes(bucketOf(n)));
                }
                groupUsers.add(user);
                groupItems.add(items);
              });
        });
    if (groupUsers.isEmpty()) {
      return CompletableFuture.completedFuture(Map.of());
    }
    return this.<List<Object>>run(
            removeDelivered,
            ScriptOutputType.MULTI,
            keyList.toArray(String[]::new),
            argList.toArray(byte[][]::new))
        .thenApply(
            out -> {
              Map<String, List<Notification>> removed = new java.util.HashMap<>();
              int i = 0;
              for (int g = 0; g < groupUsers.size(); g++) {
                int count = ((Long) out.get(i++)).intValue();
                if (count == 0) {
                  continue;
                }
                Map<String, Notification> byId = new java.util.HashMap<>();
                for (Notification n : groupItems.get(g)) {
                  byId.putIfAbsent(n.id(), n);
                }
                List<Notification> mine =
                    removed.computeIfAbsent(groupUsers.get(g), u -> new ArrayList<>());
                for (int c = 0; c < count; c++) {
                  mine.add(byId.get(new String((byte[]) out.get(i++), StandardCharsets.UTF_8)));
                }
              }
              return removed;
            });
  }

  /**
   * {@code call} once per group of users ({@code groupOf}), at once; the users are distinct, so the
   * answers merge. One call when they are all in one group. When calls of several groups (primaries
   * or slots of a Redis Cluster, where the counts have their own slots and the removal calls give
   * nothing back) fail apart, the removal fails, and the room of what the calls that succeeded
   * removed is given back first ({@link #release}): those items are gone, and the caller, which
   * sees a failure, gives nothing back.
   */
  private <V> CompletionStage<Map<String, List<Notification>>> removeGrouped(
      Map<String, ? extends V> idsByUser,
      Function<String, Object> groupOf,
      Function<Map<String, V>, CompletionStage<Map<String, List<Notification>>>> call) {
    Map<Object, Map<String, V>> byGroup = new LinkedHashMap<>();
    idsByUser.forEach(
        (user, byApp) ->
            byGroup
                .computeIfAbsent(groupOf.apply(user), g -> new LinkedHashMap<>())
                .put(user, byApp));
    if (byGroup.isEmpty()) {
      return CompletableFuture.completedFuture(Map.of());
    }
    if (byGroup.size() == 1) {
      return call.apply(byGroup.values().iterator().next());
    }
    List<CompletableFuture<Map<String, List<Notification>>>> calls = new ArrayList<>();
    for (Map<String, V> part : byGroup.values()) {
      calls.add(started(() -> call.apply(part)).toCompletableFuture());
    }
    CompletableFuture<Map<String, List<Notification>>> out = new CompletableFuture<>();
    CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new))
        .whenComplete(
            (v, e) -> {
              Map<String, List<Notification>> removed = new java.util.HashMap<>();
              for (CompletableFuture<Map<String, List<Notification>>> c : calls) {
                if (!c.isCompletedExceptionally()) {
                  removed.putAll(c.join());
                }
              }
              if (e == null) {
                out.complete(removed);
                return;
              }
              Throwable cause =
                  e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
              List<Notification> gone = new ArrayList<>();
              removed.values().forEach(gone::addAll);
              release(gone).whenComplete((r, x) -> out.completeExceptionally(cause));
            });
    return out;
  }

  /** {@link #removeAll} in one script call ({@link #run}). */
  private CompletionStage<Map<String, List<Notification>>> removeSlot(
      Map<String, ? extends Map<Long, ? extends Collection<String>>> idsByUser) {
    List<String> keyList = new ArrayList<>();
    List<byte[]> argList = new ArrayList<>();
    List<String> groupUsers = new ArrayList<>();
    idsByUser.forEach(
        (user, byApp) -> {
          String userKey = UserKeys.of(user);
          byApp.forEach(
              (appId, ids) -> {
                if (ids.isEmpty()) {
                  return;
                }
                keyList.add(queueKey(userKey, appId));
                keyList.add(appSetKey(userKey));
                argList.add(bytes(appId));
                argList.add(bytes(ids.size()));
                for (String id : ids) {
                  argList.add(bytes(id));
                }
                groupUsers.add(user);
              });
        });
    if (groupUsers.isEmpty()) {
      return CompletableFuture.completedFuture(Map.of());
    }
    return this.<List<Object>>run(
            removeAll,
            ScriptOutputType.MULTI,
            keyList.toArray(String[]::new),
            argList.toArray(byte[][]::new))
        .thenApply(
            out -> {
              Map<String, List<Notification>> removed = new java.util.HashMap<>();
              int i = 0;
              for (String user : groupUsers) {
                int count = ((Long) out.get(i++)).intValue();
                for (int c = 0; c < count; c++) {
                  removed
                      .computeIfAbsent(user, u -> new ArrayList<>())
                      .add(NotificationCodec.decode((byte[]) out.get(i++)));
                }
              }
              return removed;
            });
  }

  @Override
  public CompletionStage<Boolean> claimAnswer(String id, Instant expiresAt) {
    long ttl = Math.max(1, expiresAt.toEpochMilli() - System.currentTimeMillis());
    return RedisErrors.call(
            () ->
                redis.set(
                    keys.key("nans:" + id), bytes(1), io.lettuce.core.SetArgs.Builder.nx().px(ttl)))
        .thenApply("OK"::equals);
  }

  /** Queues expire on their own in Redis ({@code PEXPIRE} at every push). */
  @Override
  public CompletionStage<Integer> expireIdle(Instant before, int limit) {
    return CompletableFuture.completedFuture(0);
  }

  /** Claims expire on their own in Redis. */
  @Override
  public CompletionStage<Integer> purgeAnswers(Instant now) {
    return CompletableFuture.completedFuture(0);
  }

  @Override
  public CompletionStage<Integer> size(String userSub, long appId) {
    return RedisErrors.call(() -> redis.llen(queueKey(UserKeys.of(userSub), appId)))
        .thenApply(Long::intValue);
  }

  @Override
  public CompletionStage<List<Notification>> clear(String userSub, long appId) {
    String userKey = UserKeys.of(userSub);
    return clear
        .<List<Object>>run(
            ScriptOutputType.MULTI,
            new String[] {queueKey(userKey, appId), appSetKey(userKey)},
            bytes(appId))
        .thenApply(out -> out.stream().map(o -> NotificationCodec.decode((byte[]) o)).toList())
        .thenCompose(dropped -> release(dropped).thenApply(v -> dropped));
  }
}
