package org.presence.store.presence;

import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.SlotHash;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntFunction;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.error.StoreException;
import org.presence.store.exec.Batcher;
import org.presence.store.permission.Grant;
import org.presence.store.redis.PackedArgs;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.RedisScript;
import org.presence.store.redis.SpreadCalls;
import org.presence.store.updates.AppUpdate;
import org.presence.store.updates.RedisAppUpdateLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's {@link StatusBatches}: the status updates a node makes while earlier calls are
 * running go to Redis together as <em>one</em> script call, which decides every user's state with
 * the rules of {@code presence.lua} (the same source as {@link RedisPresenceStateStore}'s), maps
 * each real change to the user's enabled grants exactly as the gateway's fan-out does ({@link
 * Fanout#updatesFor}: at most one update per application and PUID for one status), and appends them
 * to each affected application's log with the log's own append function ({@link
 * RedisAppUpdateLog#APPEND_FUNCTIONS}: numbered, guarded by the per-user version, one stream entry
 * and one bus message per application and batch). An update the node decided itself ({@link
 * NodeDecisions}) comes with its writes and with its log entries already mapped (by {@link
 * Fanout#updatesFor}) and encoded, so that the script only checks the hash's token, stores and
 * appends them. One round trip per batch; the numbered updates then reach this node's own listeners
 * through {@link Fanout#delivered}. The grants come from the fan-out too ({@link Fanout#grants}):
 * the store stores and publishes, the gateway knows who sees what.
 *
 * <p>Batching ({@link Batcher}): at most {@link #MAX_IN_FLIGHT} calls per group run at once;
 * updates arriving meanwhile wait and go together into the next call, up to {@link #MAX_WEIGHT} (an
 * update weighs one plus its user's grants); a lone update goes at once, so an idle node adds no
 * delay and a busy one batches about one round trip's worth. A user's updates enter the queue in
 * call order (each waits for its grants and for the user's previous one to be queued), the calls
 * are written from one thread in queue order, and Redis runs one connection's calls in order, so
 * they are decided in order.
 *
 * <p>On one Redis there is one group. On a Redis Cluster a user's hash and an application's log
 * live in different slots, and a script declares keys of one slot only: there the updates are
 * grouped by the primary the topology names for the user's slot ({@link #groupOf}), a batch is one
 * call of the state part alone ({@link #STATE_BODY}: presence_op over the users' hashes of that
 * primary, in order; the hashes of several slots passed as {@link SpreadCalls} does, and the batch
 * made again as one call per slot when the primary refuses it because a slot moved, and a slot's
 * call as one call per user when Redis refuses it because the slot is half moved), then its real
 * changes are mapped to the grants in Java ({@link Fanout#updatesFor}) and go to the log through
 * {@link Fanout#publishAll} (the gateway's publisher), whose batches (across the state batches of
 * all primaries) are one {@link RedisAppUpdateLog#appendAll} call per application slot, guarded by
 * the same per-user versions; the callers are answered after the log call. A batch's status and its
 * updates are then not stored atomically: a failed log call is logged, the changes it was to log go
 * to the {@link #whenUnlogged} listener (the gateway publishes them later), and the statuses,
 * already stored, are answered, as in the two-call path. There a user's update goes only once the
 * user's previous one is answered, so that a refused call made again (per slot, per user), or one
 * queued for a primary that no longer holds the user's slot, cannot be overtaken. (A device waits
 * for the answer to each status anyway; only a user's devices sending at the same moment wait for
 * each other.)
 */
public final class RedisStatusBatches implements StatusBatches {
  private static final Logger LOG = LoggerFactory.getLogger(RedisStatusBatches.class);

  /** Script calls of one group running at once. */
  public static final int MAX_IN_FLIGHT = 2;

  /** Most weight in one call: an update weighs one plus the number of its user's grants. */
  public static final int MAX_WEIGHT = 1024;

  /** About the packed bytes of an update without its grants, and of a grant (initial sizes). */
  private static final int PACKED_BYTES = 128;

  /** About the packed bytes of an update the node decided, without its log entries. */
  private static final int DECIDED_BYTES = 320;

  private static final int GRANT_BYTES = 40;

  /** About the packed bytes of a log entry of an update the node decided (one per grant). */
  private static final int ENTRY_BYTES = 144;

  /**
   * One update of a batch, its values at {@code V[a]}: how it is decided ({@link NodeDecisions}),
   * then what that needs. 0: by presence_op; 1: by presence_op, returning the user's hash after it;
   * for both, when {@code mapped} (one Redis, where the script maps changes to grants) the number
   * of grants g and 2g values (application id, PUID), then the 11 values of {@link
   * RedisPresenceStateStore#packUpdate}. 2: by the node: the write token the node read, its writes
   * (a count, then field and value each, its new token among them), the position in the fallback
   * {@code F} of what decision 1 needs (grants when mapped, the 11 values), and when mapped the
   * update's entries for the logs (a count, then six values each: the application's position, PUID,
   * status, message, version, document). The writes are stored only while the hash still holds the
   * token read; else {@code fallback()} is unpacked and the update decided as 1. Returns the reply
   * (1 for a node's decision stored as sent), the position after the update, the hash ({@code
   * HGETALL}) or nil, the grants (mapped, decided by presence_op) and the number of the node's
   * entries that end at that position. {@code pre}: the write tokens of a spread call's hashes,
   * read before anything was written ({@link #STATE_BODY}), of which a user's first update takes
   * its hash's instead of reading it again; nil otherwise.
   */
  private static final String BATCH_UPDATE =
      """
      local function batch_decide(key, V, a, mode, prefix, mapped)
        local grants
        if mapped then
          local ng = V[a]
          a = a + 1
          grants = {}
          for j = 1, ng do
            grants[j] = {V[a], V[a + 1]}
            a = a + 2
          end
        end
        local args = {'update'}
        for j = 1, 11 do
          args[j + 1] = V[a + j - 1]
        end
        args[13] = prefix
        a = a + 11
        local r = presence_op(key, args)
        if mode == 1 then
          return r, a, redis.call('HGETALL', key), grants
        end
        return r, a, nil, grants
      end

      local function batch_update(key, V, a, prefix, mapped, fallback, pre)
        local mode = V[a]
        local w
        if pre then
          w = pre[key]
          pre[key] = nil
        end
        if mode ~= 2 then
          local r, after, h, grants = batch_decide(key, V, a + 1, mode, prefix, mapped)
          return r, after, h, grants, 0
        end
        local read, nw = V[a + 1], V[a + 2]
        local w0 = a + 3
        local f = V[w0 + nw]
        local after, ne = w0 + nw + 1, 0
        if mapped then
          ne = V[after]
          after = after + 1 + ne * 6
        end
        if w == nil then
          w = redis.call('HGET', key, 'w')
        end
        if w == read then
          redis.call('HSET', key, unpack(V, w0, w0 + nw - 1))
          return 1, after, nil, nil, ne
        end
        local r, _, h, grants = batch_decide(key, fallback(), f, 1, prefix, mapped)
        return r, after, h, grants, 0
      end
      """;

  /**
   * KEYS: the users' hashes (nu), then five per application (na; {@link
   * RedisAppUpdateLog#appendKeys}, {@link RedisAppUpdateLog#APPEND_KEYS}: the 5 below). ARGV:
   * retention, most numbers kept, nu, na, the node index prefix, per application its id and
   * channel, then the updates packed into one argument ({@link PackedArgs}, read with {@code
   * cmsgpack.unpack}), per update: the position of its user's key, then the update as {@link
   * #BATCH_UPDATE} reads it (mapped); last, the fallback of the node's decisions, packed likewise
   * and unpacked only when a token no longer matches. Returns {per update its presence_op reply, or
   * 1 for a node's decision stored as sent}, {time (0 when nothing was logged), then per
   * application with kept updates: id, first seq, count, and per update either PUID, status,
   * message, version (the script's decisions) or, as an integer, the position in the packed
   * argument of a node's entry (the node holds its values)}, {per update whose hash is returned:
   * its position, the hash}.
   */
  private static final String BODY =
      """
      local nu, na = tonumber(ARGV[3]), tonumber(ARGV[4])
      local prefix = ARGV[5]
      local slot, channels, perapp = {}, {}, {}
      local a = 6
      for i = 1, na do
        slot[ARGV[a]] = i
        channels[i] = ARGV[a + 1]
        a = a + 2
      end
      local V = cmsgpack.unpack(ARGV[a])
      local packedFallback, F = ARGV[a + 1], nil
      local function fallback()
        F = F or cmsgpack.unpack(packedFallback)
        return F
      end
      local replies, hashes = {}, {}
      a = 1
      while a <= #V do
        local r, after, h, grants, ne =
          batch_update(KEYS[V[a]], V, a + 1, prefix, true, fallback, nil)
        a = after
        replies[#replies + 1] = r
        if h then
          hashes[#hashes + 1] = #replies
          hashes[#hashes + 1] = h
        end
        if ne > 0 then
          -- The node mapped its decision to the grants (the rule below) and wrote the documents:
          -- an entry is its position in V (application, PUID, status, message, version, document).
          for e = after - ne * 6, after - 1, 6 do
            local p = V[e]
            local list = perapp[p]
            if not list then
              list = {}
              perapp[p] = list
            end
            list[#list + 1] = e
          end
        elseif r ~= 1 and r[1] == 'ok' and #r > 2 then
          local own = {}
          for id in string.gmatch(r[2], '%d+') do
            own[id] = true
          end
          -- Fanout.updatesFor's rule: one update per application and PUID, the later change wins.
          local mine, order = {}, {}
          for c = 3, #r, 4 do
            local app = r[c]
            for _, g in ipairs(grants) do
              if (app == '0' and not own[g[1]]) or app == g[1] then
                local k = g[1] .. ' ' .. g[2]
                if not mine[k] then
                  order[#order + 1] = k
                end
                mine[k] = {g[1], g[2], r[c + 1], r[c + 2], r[c + 3]}
              end
            end
          end
          for _, k in ipairs(order) do
            local u = mine[k]
            local p = slot[u[1]]
            perapp[p] = perapp[p] or {}
            table.insert(perapp[p], u)
          end
        end
      end
      local K, A, used = {}, {ARGV[1], ARGV[2]}, {}
      for p = 1, na do
        local list = perapp[p]
        if list then
          used[#used + 1] = p
          for j = 1, 5 do
            K[#K + 1] = KEYS[nu + (p - 1) * 5 + j]
          end
          A[#A + 1] = channels[p]
          A[#A + 1] = #list
          for _, u in ipairs(list) do
            local n = #A
            A[n + 1] = 'c'
            if type(u) == 'number' then
              A[n + 2] = V[u + 4]
              A[n + 3] = V[u + 2] == 'offline' and '1' or '0'
              A[n + 4] = V[u + 1]
              A[n + 5] = V[u + 2] .. ':' .. V[u + 3]
              A[n + 6] = V[u + 5]
            else
              local doc = '{"u":' .. cjson.encode(u[2]) .. ',"s":"' .. u[3] .. '"'
              if u[4] ~= '' then
                doc = doc .. ',"m":' .. cjson.encode(u[4])
              end
              A[n + 2] = u[5]
              A[n + 3] = u[3] == 'offline' and '1' or '0'
              A[n + 4] = u[2]
              A[n + 5] = u[3] .. ':' .. u[4]
              A[n + 6] = doc .. ',"v":' .. u[5] .. '}'
            end
          end
        end
      end
      -- Redis's clock only for a batch with updates to log (append_apps reads it).
      local logged = {0}
      if #used > 0 then
        local res = append_apps(K, A)
        logged[1] = res[1]
        local r = 2
        for _, p in ipairs(used) do
          local first, k = res[r], res[r + 1]
          r = r + 2
          local list = perapp[p]
          local app = ARGV[6 + (p - 1) * 2]
          if k > 0 then
            logged[#logged + 1] = app
            logged[#logged + 1] = first
            logged[#logged + 1] = k
          end
          for j = 1, k do
            local u = list[res[r + j - 1]]
            if type(u) == 'number' then
              -- The node holds this one's values: their position in V is enough.
              logged[#logged + 1] = u
            else
              local n = #logged
              logged[n + 1] = u[2]
              logged[n + 2] = u[3]
              logged[n + 3] = u[4]
              logged[n + 4] = u[5]
            end
          end
          r = r + k
        end
      end
      return {replies, logged, hashes}
      """;

  private static final String SCRIPT =
      RedisAppUpdateLog.APPEND_FUNCTIONS
          + RedisPresenceStateStore.RULES
          + "\n"
          + BATCH_UPDATE
          + BODY;

  /**
   * The state part alone, for a Redis Cluster, after {@link SpreadCalls#PROLOGUE}. KEYS: the users'
   * hashes, all held by one primary (of several slots in a spread call, whose check is the reading
   * of every hash's write token before anything is written: one {@code HGET} per user that the
   * user's first update would make anyway, where {@link SpreadCalls#CHECK} would add an {@code
   * EXISTS}). ARGV: the node index prefix, then the updates packed into one argument as in {@link
   * #BODY}, not mapped: per update the position of its user's key and the update as {@link
   * #BATCH_UPDATE} reads it; then the fallback of the node's decisions. Returns {per update its
   * presence_op reply, or 1}, {per update whose hash is returned: its position, the hash}.
   */
  private static final String STATE_BODY =
      """
      local V = cmsgpack.unpack(ARGV[2])
      local F
      local function fallback()
        F = F or cmsgpack.unpack(ARGV[3])
        return F
      end
      -- A spread call's check (SpreadCalls): the write token of every user's hash, read before
      -- anything is written, for the user's first update in the batch to compare.
      local pre
      if spread then
        pre = {}
        for i = 1, #KEYS do
          local r = redis.pcall('HGET', KEYS[i], 'w')
          if type(r) == 'table' and r.err then
            return redis.error_reply('SPREAD ' .. r.err)
          end
          pre[KEYS[i]] = r
        end
      end
      local replies, hashes, a = {}, {}, 1
      while a <= #V do
        local r, after, h = batch_update(KEYS[V[a]], V, a + 1, ARGV[1], false, fallback, pre)
        a = after
        replies[#replies + 1] = r
        if h then
          hashes[#hashes + 1] = #replies
          hashes[#hashes + 1] = h
        end
      end
      return {replies, hashes}
      """;

  private final RedisBackend redis;
  private final RedisPresenceStateStore state;
  private final RedisAppUpdateLog log;
  private final Fanout fanout;
  private final RedisScript script;
  private final boolean cluster;

  /** The updates this node decides itself, or {@code null} when Redis decides every one. */
  private final NodeDecisions decisions;

  /** Names the primary of a slot on a Redis Cluster ({@link RedisBackend#primaryOf}). */
  private final IntFunction<String> primaryOf;

  private final ConcurrentHashMap<Object, Batcher<Item>> groups = new ConcurrentHashMap<>();

  /**
   * Per user with an update not yet queued (on a cluster: not yet answered), the last one (see
   * {@link #update}).
   */
  private final ConcurrentHashMap<String, Item> tails = new ConcurrentHashMap<>();

  /** Told of the changes stored but not logged ({@link #whenUnlogged}); null: nobody. */
  private volatile Unlogged unlogged;

  public RedisStatusBatches(
      RedisBackend redis, RedisPresenceStateStore state, RedisAppUpdateLog log, Fanout fanout) {
    this(redis, state, log, fanout, true);
  }

  /**
   * As above; {@code decideOnNode}: whether the node decides the updates it can ({@link
   * NodeDecisions}; {@code store.redis.decide-on-node}), or leaves every decision to Redis.
   */
  public RedisStatusBatches(
      RedisBackend redis,
      RedisPresenceStateStore state,
      RedisAppUpdateLog log,
      Fanout fanout,
      boolean decideOnNode) {
    this(redis, state, log, fanout, decideOnNode, redis::primaryOf);
  }

  /**
   * As above, grouping a Redis Cluster's updates by the primary {@code primaryOf} names for their
   * users' slots (tests pass a wrong one to show the fall-back to one call per slot).
   */
  public RedisStatusBatches(
      RedisBackend redis,
      RedisPresenceStateStore state,
      RedisAppUpdateLog log,
      Fanout fanout,
      boolean decideOnNode,
      IntFunction<String> primaryOf) {
    this.redis = redis;
    this.primaryOf = primaryOf;
    this.decisions = decideOnNode ? new NodeDecisions() : null;
    this.state = state;
    this.log = log;
    this.fanout = fanout;
    this.cluster = redis.cluster();
    // One try per call: a call refused because its slot is half moved goes per user (decideInSlot).
    this.script =
        RedisScript.oneTry(
            cluster
                ? RedisPresenceStateStore.RULES
                    + "\n"
                    + BATCH_UPDATE
                    + SpreadCalls.PROLOGUE
                    + STATE_BODY
                : SCRIPT,
            redis.commands().async());
  }

  /**
   * The group of {@code user}'s updates: one on one Redis; on a cluster the primary the topology
   * names for the user's slot (the slot itself while it names none).
   */
  private Object groupOf(String user) {
    if (!cluster) {
      return 0;
    }
    int slot = SlotHash.getSlot(state.key(user));
    String primary = primaryOf.apply(slot);
    return primary != null ? primary : slot;
  }

  @Override
  public CompletionStage<PresenceUpdate> update(
      String user,
      String device,
      UUID session,
      PresenceStatus status,
      String message,
      ApplicationIds applicationIds,
      UserMessages messages,
      long now) {
    Item item =
        new Item(
            state.key(user), user, device, session, status, message, applicationIds, messages, now);
    // The user's previous update is queued first (it may still wait for its grants).
    Item previous = tails.put(user, item);
    if (cluster) {
      // Kept until answered: the user's next update waits for this one (see below).
      item.result.whenComplete((u, e) -> tails.remove(user, item));
    }
    Runnable enqueue =
        () ->
            grantsOf(user)
                .handle(
                    (list, e) -> {
                      if (e != null) {
                        // Stored without its grants, the status would never reach the update
                        // logs: it is refused (stored nowhere) and the device sends it again.
                        refuse(item, e);
                        return null;
                      }
                      for (Grant g : list) {
                        if (g.enabled()) {
                          item.grants.add(g);
                        }
                      }
                      item.group = groupOf(user);
                      if (previous == null || !cluster || previous.result.isDone()) {
                        submit(item);
                      } else {
                        // On a cluster the update goes once the previous one is answered: that
                        // one may be made again (per slot, per key) while the user's slot moves,
                        // or be queued for the slot's old primary.
                        previous.result.whenComplete((u, x) -> submit(item));
                      }
                      return null;
                    });
    if (previous == null || previous.queued.isDone()) {
      enqueue.run();
    } else {
      previous.queued.whenComplete((v, e) -> enqueue.run());
    }
    return item.result;
  }

  /**
   * Fails {@code item}, whose user's grants could not be read ({@code e}), with the store's error
   * ({@code BACKEND_UNAVAILABLE} when it is none): nothing of it is stored. The user's next update
   * goes on as after a queued one.
   */
  private void refuse(Item item, Throwable e) {
    LOG.debug("grants of a user not at hand; the status is refused: {}", e.toString());
    tails.remove(item.user, item);
    item.result.completeExceptionally(StoreException.unavailable(e, "grants"));
    item.queued.complete(null);
  }

  /** Queues {@code item} in its group's batcher. */
  private void submit(Item item) {
    groups.computeIfAbsent(item.group, k -> newGroup()).submit(item);
    if (!cluster) {
      // One Redis has one group: the user's next update needs only this one queued.
      tails.remove(item.user, item);
    }
    item.queued.complete(null);
  }

  /**
   * The batcher of one group. Its calls are made on {@link Batcher#serialSender()}, so that a
   * user's statuses reach Redis in the order they were queued.
   */
  private Batcher<Item> newGroup() {
    return new Batcher<>(
        MAX_IN_FLIGHT,
        MAX_WEIGHT,
        Item::weight,
        this::run,
        (batch, e) -> {
          forget(batch);
          batch.forEach(b -> b.result.completeExceptionally(e));
        },
        Batcher.serialSender());
  }

  private CompletionStage<List<Grant>> grantsOf(String user) {
    try {
      return fanout.grants(user);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** One status update waiting for its batch. */
  private static final class Item {
    final String key;
    final String user;
    final String device;
    final UUID session;
    final PresenceStatus status;
    final String message;
    final ApplicationIds applicationIds;
    final UserMessages messages;
    final long now;
    final List<Grant> grants = new ArrayList<>(4);
    final CompletableFuture<PresenceUpdate> result = new CompletableFuture<>();

    /** Completed once it is in its group's batcher. */
    final CompletableFuture<Void> queued = new CompletableFuture<>();

    /** Its group ({@link #groupOf}), set as it is queued. */
    Object group;

    /** What this node decided ({@link #pack}), or {@code null} when the script decides. */
    PresenceUpdate planned;

    Item(
        String key,
        String user,
        String device,
        UUID session,
        PresenceStatus status,
        String message,
        ApplicationIds applicationIds,
        UserMessages messages,
        long now) {
      this.key = key;
      this.user = user;
      this.device = device;
      this.session = session;
      this.status = status;
      this.message = message;
      this.applicationIds = applicationIds;
      this.messages = messages;
      this.now = now;
    }

    /**
     * Writes it into {@code out} as {@link #BATCH_UPDATE} reads it. When {@code d} can decide it,
     * it is decided here ({@link #planned}, the user's hash after it remembered) and what the
     * script needs to decide it itself, should the hash have changed meanwhile, goes into {@code
     * fallback}. {@code logs}: where the script logs the batch (one Redis), its applications, and
     * where the node's own entries go; {@code null} on a cluster, where Java maps the changes.
     */
    void pack(
        RedisPresenceStateStore state,
        NodeDecisions d,
        Fanout fanout,
        LogMapping logs,
        PackedArgs out,
        PackedArgs fallback) {
      if (d == null) {
        out.integer(NodeDecisions.BY_SCRIPT);
        packForScript(state, logs != null, out);
        return;
      }
      NodeDecisions.Plan p =
          d.decide(
              user,
              device,
              NodeDecisions.session(session),
              status,
              message,
              applicationIds,
              messages,
              now);
      if (p != null) {
        planned = p.update();
        out.integer(NodeDecisions.BY_NODE);
        out.string(p.read());
        out.integer(p.writes().length);
        for (String v : p.writes()) {
          out.string(v);
        }
        out.integer(fallback.count() + 1);
        packForScript(state, logs != null, fallback);
        if (logs != null) {
          packEntries(fanout, logs, out);
        }
        return;
      }
      out.integer(
          d.wantsHash(user, applicationIds)
              ? NodeDecisions.BY_SCRIPT_WITH_HASH
              : NodeDecisions.BY_SCRIPT);
      packForScript(state, logs != null, out);
    }

    /** What presence_op needs: the grants when {@code mapped}, the update's values. */
    private void packForScript(RedisPresenceStateStore state, boolean mapped, PackedArgs out) {
      if (mapped) {
        out.integer(grants.size());
        for (Grant g : grants) {
          out.decimal(g.appId());
          out.string(g.puid());
        }
      }
      state.packUpdate(out, user, device, session, status, message, applicationIds, messages, now);
    }

    /**
     * The entries of {@link #planned} for the applications' logs, mapped to the grants as the
     * script maps its own decisions ({@link Fanout#updatesFor}), each with its document; each
     * remembered in {@code logs} by its position in {@code out}.
     */
    private void packEntries(Fanout fanout, LogMapping logs, PackedArgs out) {
      Map<Long, List<AppUpdate.New>> byApp =
          planned.changes().isEmpty() ? Map.of() : fanout.updatesFor(grants, planned);
      int n = 0;
      for (List<AppUpdate.New> updates : byApp.values()) {
        n += updates.size();
      }
      out.integer(n);
      for (Map.Entry<Long, List<AppUpdate.New>> e : byApp.entrySet()) {
        int position = logs.apps().get(e.getKey()) + 1;
        for (AppUpdate.New u : e.getValue()) {
          // Its position as the script numbers V (from 1).
          logs.entries().put(out.count() + 1, u);
          out.integer(position);
          out.string(u.puid());
          out.string(u.status().wireName());
          out.string(u.message());
          out.decimal(u.version());
          out.string(
              NodeDecisions.updateJson(u.puid(), u.status().wireName(), u.message(), u.version()));
        }
      }
    }

    /** The reply of the script, or {@link #planned} when it stored the node's decision (1). */
    PresenceUpdate decided(Object reply) {
      if (reply instanceof List<?> r) {
        @SuppressWarnings("unchecked")
        List<Object> values = (List<Object>) r;
        return RedisPresenceStateStore.toUpdate(values);
      }
      if (planned == null) {
        throw new IllegalStateException("the script stored a decision the node did not make");
      }
      return planned;
    }

    int weight() {
      return 1 + grants.size();
    }
  }

  /**
   * How a batch's changes reach the applications' logs when one script call logs them (one Redis):
   * the batch's applications and their positions (from 0), and the entries the node mapped itself
   * by their position in the packed argument, which the script's reply names them by.
   */
  private record LogMapping(Map<Long, Integer> apps, Map<Integer, AppUpdate.New> entries) {}

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(Object o) {
    return o == null ? "" : new String((byte[]) o, StandardCharsets.UTF_8);
  }

  /**
   * One script call for {@code batch} (on a cluster, a state call and a log call); completes every
   * item.
   */
  private CompletionStage<?> run(List<Item> batch) {
    if (cluster) {
      return runSplit(batch);
    }
    Map<String, Integer> userKeys = new LinkedHashMap<>();
    Map<Long, Integer> apps = new LinkedHashMap<>();
    int argc = 7;
    int grants = 0;
    for (Item item : batch) {
      userKeys.putIfAbsent(item.key, userKeys.size() + 1);
      for (Grant g : item.grants) {
        if (apps.putIfAbsent(g.appId(), apps.size()) == null) {
          argc += 2;
        }
      }
      grants += item.grants.size();
    }
    String[] keys = new String[userKeys.size() + apps.size() * RedisAppUpdateLog.APPEND_KEYS];
    int k = 0;
    for (String key : userKeys.keySet()) {
      keys[k++] = key;
    }
    byte[][] args = new byte[argc][];
    byte[][] header = log.appendHeader();
    args[0] = header[0];
    args[1] = header[1];
    args[2] = utf8(Integer.toString(userKeys.size()));
    args[3] = utf8(Integer.toString(apps.size()));
    args[4] = state.nodeIndexPrefix();
    int a = 5;
    for (long app : apps.keySet()) {
      System.arraycopy(log.appendKeys(app), 0, keys, k, RedisAppUpdateLog.APPEND_KEYS);
      k += RedisAppUpdateLog.APPEND_KEYS;
      args[a++] = utf8(Long.toString(app));
      args[a++] = log.channelArg(app);
    }
    PackedArgs packed =
        new PackedArgs(
            decisions == null
                ? batch.size() * PACKED_BYTES + grants * GRANT_BYTES
                : batch.size() * DECIDED_BYTES + grants * ENTRY_BYTES);
    PackedArgs fallback = fallbackArgs(batch.size(), grants);
    LogMapping logs = new LogMapping(apps, new HashMap<>());
    for (Item item : batch) {
      packed.integer(userKeys.get(item.key));
      item.pack(state, decisions, fanout, logs, packed, fallback);
    }
    args[a] = packed.end();
    args[a + 1] = fallback.end();
    return script
        .<List<Object>>run(ScriptOutputType.MULTI, keys, args)
        .thenApply(
            reply -> {
              @SuppressWarnings("unchecked")
              List<Object> replies = (List<Object>) reply.get(0);
              @SuppressWarnings("unchecked")
              List<Object> logged = (List<Object>) reply.get(1);
              @SuppressWarnings("unchecked")
              List<Object> hashes = (List<Object>) reply.get(2);
              readHashes(batch, hashes);
              Map<Long, List<AppUpdate>> numbered = numbered(logged, logs.entries());
              // This node's listeners first, then the callers: an ack follows its stored updates.
              if (!numbered.isEmpty()) {
                fanout.delivered(numbered);
              }
              for (int i = 0; i < batch.size(); i++) {
                Item item = batch.get(i);
                item.result.complete(item.decided(replies.get(i)));
              }
              return null;
            })
        .whenComplete(
            (v, e) -> {
              if (e != null) {
                forget(batch);
                batch.forEach(item -> item.result.completeExceptionally(e));
              }
            });
  }

  /**
   * The fallback argument of a batch of {@code updates} with {@code grants} in all: what the script
   * needs of the node's decisions should it decide them itself (see {@link #BATCH_UPDATE}).
   */
  private PackedArgs fallbackArgs(int updates, int grants) {
    return new PackedArgs(decisions == null ? 8 : updates * PACKED_BYTES + grants * GRANT_BYTES);
  }

  /** Remembers the users' hashes the script returned ({@link #BATCH_UPDATE}). */
  private void readHashes(List<Item> batch, List<Object> hashes) {
    if (decisions == null) {
      return;
    }
    for (int i = 0; i + 1 < hashes.size(); i += 2) {
      Item item = batch.get((int) (long) (Long) hashes.get(i) - 1);
      @SuppressWarnings("unchecked")
      List<Object> flat = (List<Object>) hashes.get(i + 1);
      decisions.read(item.user, flat);
    }
  }

  /** After a failed call: what this node decided for the batch's users may not be stored. */
  private void forget(List<Item> batch) {
    if (decisions != null) {
      batch.forEach(item -> decisions.forget(item.user));
    }
  }

  /**
   * {@code batch}, of one primary's users, on a Redis Cluster: one state call ({@link #decide}),
   * then the real changes' updates through {@link Fanout#publishAll} (batched with other calls, one
   * log call per application slot); completes every item once the log call is done.
   */
  private CompletionStage<?> runSplit(List<Item> batch) {
    return decide(batch)
        .thenCompose(
            decided -> {
              // Per application, the batch's updates in call order (a user's in its order).
              Map<Long, List<AppUpdate.New>> byApp = new LinkedHashMap<>();
              for (int i = 0; i < batch.size(); i++) {
                PresenceUpdate u = decided.get(i);
                if (!u.changes().isEmpty()) {
                  fanout
                      .updatesFor(batch.get(i).grants, u)
                      .forEach(
                          (app, updates) ->
                              byApp.computeIfAbsent(app, k -> new ArrayList<>()).addAll(updates));
                }
              }
              CompletionStage<Void> logged =
                  byApp.isEmpty()
                      ? CompletableFuture.completedFuture(null)
                      : fanout
                          .publishAll(byApp)
                          .handle(
                              (numbered, e) -> {
                                if (e != null) {
                                  notLogged(batch, decided, e);
                                }
                                return null;
                              });
              return logged.thenApply(
                  v -> {
                    for (int i = 0; i < batch.size(); i++) {
                      batch.get(i).result.complete(decided.get(i));
                    }
                    return null;
                  });
            })
        .whenComplete(
            (v, e) -> {
              if (e != null) {
                forget(batch);
                batch.forEach(item -> item.result.completeExceptionally(e));
              }
            });
  }

  /**
   * The split path's log call for {@code batch} failed after its statuses were stored ({@link
   * Fanout#publishAll} gave up): logged, and each stored change with an audience is handed to the
   * {@link #whenUnlogged} listener, to be published later. The call may have failed for some
   * application slots only; a change handed over that was logged after all is dropped by the log's
   * per-PUID guard when published again.
   */
  private void notLogged(List<Item> batch, List<PresenceUpdate> decided, Throwable e) {
    LOG.warn("presence changes of a batch of statuses not logged: {}", e.toString());
    Unlogged to = unlogged;
    if (to == null) {
      return;
    }
    for (int i = 0; i < batch.size(); i++) {
      PresenceUpdate u = decided.get(i);
      Item item = batch.get(i);
      if (u.changes().isEmpty() || fanout.updatesFor(item.grants, u).isEmpty()) {
        continue;
      }
      try {
        to.unlogged(item.user, u);
      } catch (RuntimeException failed) {
        LOG.warn("presence change of {} not handed over to be logged later", item.user, failed);
      }
    }
  }

  @Override
  public void whenUnlogged(Unlogged listener) {
    this.unlogged = listener;
  }

  /**
   * The state call of {@code batch} on a Redis Cluster ({@link #STATE_BODY}): one call over the
   * users' hashes of several slots of one primary ({@link SpreadCalls}), or, when the primary
   * refuses it (a slot moved since the topology was read; nothing written), one call per slot, at
   * once. Either way a user's updates are in one call, in order. Returns each item's decision, in
   * batch order.
   */
  private CompletionStage<List<PresenceUpdate>> decide(List<Item> batch) {
    return SpreadCalls.orBySlot(
        decideTogether(batch),
        () -> {
          // What the node decided for the refused call is packed again, by the script this time.
          forget(batch);
          return SpreadCalls.split(batch, item -> SlotHash.getSlot(item.key), this::decideInSlot);
        });
  }

  /**
   * One state call for {@code batch}, whose users' hashes share a slot; or, when Redis refuses it
   * because that slot is half moved to another primary (a reshard: some of the hashes are on each),
   * one call per user, which Redis runs where the user's hash is.
   */
  private CompletionStage<List<PresenceUpdate>> decideInSlot(List<Item> batch) {
    return SpreadCalls.orByKey(
        decideTogether(batch),
        () -> {
          forget(batch);
          return SpreadCalls.split(batch, item -> item.key, this::decideTogether);
        });
  }

  /** One state call for {@code batch} ({@link SpreadCalls#run}); each item's decision, in order. */
  private CompletionStage<List<PresenceUpdate>> decideTogether(List<Item> batch) {
    Map<String, Integer> userKeys = new LinkedHashMap<>();
    PackedArgs packed =
        new PackedArgs(batch.size() * (decisions == null ? PACKED_BYTES : DECIDED_BYTES));
    PackedArgs fallback = fallbackArgs(batch.size(), 0);
    for (Item item : batch) {
      Integer ku = userKeys.putIfAbsent(item.key, userKeys.size() + 1);
      packed.integer(ku == null ? userKeys.size() : ku);
      item.pack(state, decisions, fanout, null, packed, fallback);
    }
    String[] keys = userKeys.keySet().toArray(new String[0]);
    byte[][] args = {state.nodeIndexPrefix(), packed.end(), fallback.end()};
    return SpreadCalls.<List<Object>>run(script, redis, ScriptOutputType.MULTI, keys, args)
        .thenApply(
            reply -> {
              @SuppressWarnings("unchecked")
              List<Object> replies = (List<Object>) reply.get(0);
              @SuppressWarnings("unchecked")
              List<Object> hashes = (List<Object>) reply.get(1);
              readHashes(batch, hashes);
              List<PresenceUpdate> decided = new ArrayList<>(batch.size());
              for (int i = 0; i < batch.size(); i++) {
                decided.add(batch.get(i).decided(replies.get(i)));
              }
              return decided;
            });
  }

  /** The script's second reply: per application its kept updates, numbered from the first. */
  private static Map<Long, List<AppUpdate>> numbered(
      List<Object> logged, Map<Integer, AppUpdate.New> entries) {
    Map<Long, List<AppUpdate>> out = new LinkedHashMap<>();
    Instant at = Instant.ofEpochMilli((Long) logged.get(0));
    int i = 1;
    while (i + 2 < logged.size()) {
      long app = Long.parseLong(text(logged.get(i)));
      long first = (Long) logged.get(i + 1);
      int count = (int) (long) (Long) logged.get(i + 2);
      i += 3;
      List<AppUpdate> updates = new ArrayList<>(count);
      for (int j = 0; j < count; j++) {
        if (logged.get(i) instanceof Long position) {
          AppUpdate.New u = entries.get((int) (long) position);
          if (u == null) {
            throw new IllegalStateException("the script logged an entry the node did not send");
          }
          updates.add(new AppUpdate(first + j, u.puid(), u.status(), u.message(), u.version(), at));
          i++;
          continue;
        }
        String status = text(logged.get(i + 1));
        updates.add(
            new AppUpdate(
                first + j,
                text(logged.get(i)),
                PresenceStatus.fromWire(status)
                    .orElseThrow(() -> new IllegalStateException("bad status " + status)),
                text(logged.get(i + 2)),
                Long.parseLong(text(logged.get(i + 3))),
                at));
        i += 4;
      }
      out.put(app, updates);
    }
    return out;
  }
}
