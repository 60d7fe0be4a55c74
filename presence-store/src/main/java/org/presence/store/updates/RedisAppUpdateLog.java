package org.presence.store.updates;

import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.PackedArgs;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.RedisErrors;
import org.presence.store.redis.RedisKeys;
import org.presence.store.redis.RedisScript;

/**
 * {@link AppUpdateLog} in Redis. Per application: its hash ({@code <prefix>ustate:{a:<app>}}, never
 * expires) holding the counter (field {@code ~q}, so numbers keep increasing), the generation of
 * the guards it holds ({@code ~g}), the last housekeeping period ({@code ~x}) and the current
 * generation's PUID guards (field = PUID, value {@code "<version>[p]|<status>: <message>"}: the
 * last version taken, paused, the presence last logged); a stream of updates ({@code
 * <prefix>ulog:{a:<app>}}) with one entry per append call whose id is {@code <last seq>-1} and
 * whose fields are {@code t} (the time) and one {@code d} per update ({@link AppUpdateBatchCodec}
 * documents, numbered consecutively up to the id); a time index with the first number of each
 * period ({@code <prefix>uidx:{a:<app>}}) used to trim the stream by age; and the previous
 * generation's guards ({@code <prefix>uguards:{a:<app>}:<generation>}). A generation lasts the
 * retention: the first append of a new one renames the hash to its generation's guard key (which
 * then expires) and writes the counter back into a new hash, so a guard is read from the current
 * generation and, for a PUID not in it, the previous one, and lives between one and two retentions
 * without a key per PUID, while the counter is never lost.
 *
 * <p>One Lua script appends for any number of applications ({@link #appendAll}), with Redis's own
 * clock, so all nodes agree on numbers and on what is too old; per application and call it runs one
 * {@code HMGET} and one {@code HSET} of the application's hash (the counter and the guards
 * together), one {@code XADD} (which also bounds the stream to the last {@code maxPerApp} numbers,
 * {@code MINID}) and one {@code PUBLISH} ({@code SPUBLISH} on a Redis Cluster, where every key and
 * the channel carry the application's hash tag and a call covers the applications of one slot,
 * {@link #slotGroup}) of the kept updates (an {@link AppUpdateBatchCodec} batch on {@link
 * AppUpdateBatchCodec#channel}); a second {@code HMGET} for PUIDs not in the current generation;
 * {@code RENAME} and {@code PEXPIRE} once per generation; and only when a new housekeeping period
 * has started for the application (a minute for the hour of retention; a second for retentions
 * under two minutes) the index entry, the trim by age (a {@code ZRANGE} of the index's oldest
 * entry, and the {@code XTRIM} and index clean-up only when that entry is older than the retention
 * allows) and the stream's and index's expiry renewals. {@code TIME} runs once per call, and only
 * in a call that appends or has an index to check. Entries are kept for the retention and up to one
 * period more (a read trims first); idle applications' streams expire.
 *
 * <p>The previous format kept the counter in a key of its own ({@code <prefix>useq:{a:<app>}}) and
 * the current guards in their generation's key: the first append of this version carries both into
 * the application's hash (once, in the script) and deletes the old counter; readers read the old
 * counter until then (docs/cluster.md, upgrade note).
 */
public final class RedisAppUpdateLog implements AppUpdateLog {
  /**
   * Drops entries of stream {@code ks} older than the retention {@code r} (ms); index {@code ki}.
   */
  private static final String TRIM =
      """
      -- Redis's clock (epoch ms), read with one TIME the first time a call needs it: a call that
      -- appends nothing and trims nothing does not read it.
      local now
      local function clock()
        if not now then
          local t = redis.call('TIME')
          now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end
        return now
      end
      -- The housekeeping period for retention r (ms): the index has an entry per period (its
      -- first second -> its first number), so the trim by age and the expiry renewals run once per
      -- period and application: a minute for the hour of retention, a second for short ones.
      local function period_of(r)
        return math.max(1, math.min(60, math.floor(r / 60000)))
      end
      local function trim(ks, ki, r)
        -- Keep the period holding the cutoff: entries live for the retention and up to a period.
        -- The index's oldest entry tells whether anything is due: one command when nothing is.
        local oldest = redis.call('ZRANGE', ki, 0, 0, 'WITHSCORES')
        if #oldest == 0 then
          return
        end
        local cutoff = math.floor((clock() - r) / 1000) - period_of(r) + 1
        if tonumber(oldest[2]) >= cutoff then
          return
        end
        local keep = redis.call('ZRANGEBYSCORE', ki, cutoff, '+inf', 'LIMIT', 0, 1)
        if #keep > 0 then
          redis.call('XTRIM', ks, 'MINID', keep[1] .. '-1')
          redis.call('ZREMRANGEBYSCORE', ki, '-inf', '(' .. cutoff)
        else
          redis.call('DEL', ks, ki)
        end
      end
      local function fmt(x)
        return string.format('%.0f', x)
      end
      """;

  /**
   * KEYS: five per application ({@link #appendKeys}): the application's hash, stream, index, guard
   * hash base name, the old format's counter. ARGV: retention ms, most numbers kept, then per
   * application its Redis channel and its number of updates n, then six per update: kind ({@code
   * c}, {@code p}, {@code r}), version (decimal), offline ({@code 1} or {@code 0}), PUID, presence
   * fingerprint, encoded document. Returns {time, then per application: first seq (0 when none
   * kept), number kept, kept positions...}. Versions are compared as numbers (exact below 2^53) but
   * stored as the caller's text.
   *
   * <p>This source defines {@code append_apps(KEYS, ARGV)} (the arguments as above, as tables: the
   * append script ({@link #appendAll}) unpacks its ARGV from its one packed argument, {@code
   * RedisStatusBatches}' script builds it; it returns the reply) after the prelude of {@link
   * #TRIM}, whose {@code clock()} reads Redis's clock once, when a call first needs it: the append
   * script calls it once, {@code RedisStatusBatches}' script after deciding a batch of users'
   * states, and only when the batch has updates to log. The body is not indented, to keep its
   * history readable.
   */
  public static final String APPEND_FUNCTIONS =
      TRIM
          + """
          local function append_apps(KEYS, ARGV)
          local now = clock()
          local sec = math.floor(now / 1000)
          local retention = tonumber(ARGV[1])
          local period = period_of(retention)
          local tick = math.floor(sec / period) * period
          local secText = fmt(tick)
          local maxn = tonumber(ARGV[2])
          local genlen = math.max(1, math.floor(retention / 1000))
          local gen = math.floor(sec / genlen)
          local genText = fmt(gen)
          local ttl = retention * 2 + 1000
          local gttl = genlen * 2000 + 1000
          local out = {now}
          local a = 3
          for ai = 1, #KEYS / 5 do
            local kh, ks, ki, kg, ko = KEYS[ai * 5 - 4], KEYS[ai * 5 - 3], KEYS[ai * 5 - 2], KEYS[ai * 5 - 1], KEYS[ai * 5]
            local channel, n = ARGV[a], tonumber(ARGV[a + 1])
            a = a + 2
            -- The application's hash kh (never expires): ~q the last number, ~g the generation of
            -- the guards it holds, ~x the last period an append indexed and trimmed the stream
            -- and renewed its expiry; then the guards, field = PUID (base64url: never a '~').
            local fields = {'~q', '~g', '~x'}
            for i = 1, n do
              fields[i + 3] = ARGV[a + (i - 1) * 6 + 3]
            end
            local got = redis.call('HMGET', kh, unpack(fields))
            local hs = {}
            local seq = got[1]
            -- kh is rewritten with its counter whenever it is new or renamed away.
            local writeSeq = not seq
            if not seq then
              -- First touch by this version: carry the old format's counter key over, and its
              -- current guard generation's hash becomes kh (the previous one is read as before).
              seq = redis.call('GET', ko)
              if seq then
                redis.call('DEL', ko)
              else
                seq = '0'
              end
              local oldcur = kg .. ':' .. genText
              if redis.call('EXISTS', oldcur) == 1 then
                redis.call('RENAME', oldcur, kh)
                redis.call('PERSIST', kh)
                got = redis.call('HMGET', kh, unpack(fields))
                got[2] = genText
              end
            end
            local lookup = true
            if got[2] ~= genText then
              -- A new generation: kh's guards become their generation's hash, which the next
              -- generation reads as its previous one and which then expires; kh keeps the counter.
              if got[2] then
                local older = kg .. ':' .. got[2]
                redis.call('RENAME', kh, older)
                redis.call('PEXPIRE', older, gttl)
                -- What was read is the previous generation's (or, older, nothing to keep).
                lookup = false
                if tonumber(got[2]) ~= gen - 1 then
                  for i = 1, n do
                    got[i + 3] = false
                  end
                end
                writeSeq = true
              end
              hs[#hs + 1] = '~g'
              hs[#hs + 1] = genText
            end
            if lookup then
              local missing, mf = {}, {}
              for i = 1, n do
                if not got[i + 3] then
                  missing[#missing + 1] = i
                  mf[#mf + 1] = fields[i + 3]
                end
              end
              if #mf > 0 then
                local old = redis.call('HMGET', kg .. ':' .. fmt(gen - 1), unpack(mf))
                for j, i in ipairs(missing) do
                  got[i + 3] = old[j]
                end
              end
            end
            local st, order, kept, docs = {}, {}, {}, {}
            for i = 1, n do
              local b = a + (i - 1) * 6
              local kind, vtext, offline = ARGV[b], ARGV[b + 1], ARGV[b + 2]
              local puid, fp, doc = ARGV[b + 3], ARGV[b + 4], ARGV[b + 5]
              local g = st[puid]
              if g == nil then
                g = {v = '0', p = false, f = false}
                local raw = got[i + 3]
                if raw then
                  local v, p, f = string.match(raw, '^(%d+)(p?)|(.*)$')
                  if v then
                    g.v, g.p = v, p == 'p'
                    if f ~= '' then g.f = f end
                  end
                end
                st[puid] = g
                order[#order + 1] = puid
              end
              local version, last = tonumber(vtext), tonumber(g.v)
              local ok = false
              if kind == 'p' then
                ok = not g.p
                g.p = true
              elseif kind == 'r' and g.p then
                g.p = false
                if version > last then g.v = vtext end
                ok = offline ~= '1'
              else
                local fresh = (not g.p) and (version == 0 or version > last)
                if fresh and version > last then g.v = vtext end
                -- A versioned change showing what the PUID last logged is not logged again.
                ok = fresh and (version == 0 or fp ~= g.f)
              end
              if ok then
                g.f = fp
                kept[#kept + 1] = i
                docs[#docs + 1] = doc
              end
            end
            for _, puid in ipairs(order) do
              local g = st[puid]
              hs[#hs + 1] = puid
              hs[#hs + 1] = g.v .. (g.p and 'p' or '') .. '|' .. (g.f or '')
            end
            local k = #kept
            local index = k > 0 and got[3] ~= secText
            if index then
              hs[#hs + 1] = '~x'
              hs[#hs + 1] = secText
            elseif got[3] and not lookup then
              -- Renamed away with the guards: the period mark stays with kh.
              hs[#hs + 1] = '~x'
              hs[#hs + 1] = got[3]
            end
            local first = 0
            local lastSeq = tonumber(seq)
            if k > 0 then
              lastSeq = lastSeq + k
              first = lastSeq - k + 1
            end
            if k > 0 or writeSeq then
              hs[#hs + 1] = '~q'
              hs[#hs + 1] = fmt(lastSeq)
            end
            if #hs > 0 then
              redis.call('HSET', kh, unpack(hs))
            end
            if k > 0 then
              local xa = {ks, 'MINID', fmt(math.max(0, lastSeq - maxn + 1)), fmt(lastSeq) .. '-1', 't', fmt(now)}
              for _, d in ipairs(docs) do
                xa[#xa + 1] = 'd'
                xa[#xa + 1] = d
              end
              redis.call('XADD', unpack(xa))
              if index then
                redis.call('ZADD', ki, tick, fmt(first))
                trim(ks, ki, retention)
                redis.call('PEXPIRE', ks, ttl)
                redis.call('PEXPIRE', ki, ttl)
              end
              redis.call('PUBLISH', channel, fmt(first) .. ' ' .. fmt(now) .. '\\n' .. table.concat(docs, '\\n'))
            end
            out[#out + 1] = first
            out[#out + 1] = k
            for _, i in ipairs(kept) do
              out[#out + 1] = i
            end
            a = a + n * 6
          end
          return out
          end
          """;

  /**
   * {@link #APPEND_FUNCTIONS}' arguments packed into one ({@link PackedArgs}, read with {@code
   * cmsgpack.unpack}): retention, most numbers kept, then per application its channel and update
   * count and per update its six values, all strings but the counts.
   */
  private static final String APPEND =
      APPEND_FUNCTIONS + "return append_apps(KEYS, cmsgpack.unpack(ARGV[1]))\n";

  /**
   * KEYS: the application's hash, stream, index, the old format's counter (read while the hash has
   * no counter yet); ARGV: retention ms, since, limit, most numbers kept. Returns {outcome, last,
   * more, then per update: seq, time, data}.
   */
  private static final String READ =
      TRIM
          + """
          trim(KEYS[2], KEYS[3], tonumber(ARGV[1]))
          local last = tonumber(redis.call('HGET', KEYS[1], '~q') or redis.call('GET', KEYS[4]) or '0')
          local since = tonumber(ARGV[2])
          if since > last then
            return {'ahead', last, 0}
          end
          if since == last then
            return {'ok', last, 0}
          end
          local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
          local oldestSeq = last + 1
          if #oldest > 0 then
            local e = oldest[1]
            oldestSeq = tonumber(string.match(e[1], '^(%d+)')) - (#e[2] - 2) / 2 + 1
          end
          local bound = last - tonumber(ARGV[4]) + 1
          if bound > oldestSeq then
            oldestSeq = bound
          end
          if since + 1 < oldestSeq then
            return {'old', last, 0}
          end
          local limit = tonumber(ARGV[3])
          local entries = redis.call('XRANGE', KEYS[2], '(' .. fmt(since) .. '-1', '+', 'COUNT', limit + 1)
          local out = {'ok', last, 0}
          local count = 0
          for _, e in ipairs(entries) do
            local nd = (#e[2] - 2) / 2
            local efirst = tonumber(string.match(e[1], '^(%d+)')) - nd + 1
            for j = 1, nd do
              local seq = efirst + j - 1
              if seq > since then
                if count == limit then
                  out[3] = 1
                  return out
                end
                count = count + 1
                out[#out + 1] = seq
                out[#out + 1] = tonumber(e[2][2])
                out[#out + 1] = e[2][2 + 2 * j]
              end
            end
          end
          return out
          """;

  private final RedisClusterAsyncCommands<String, byte[]> redis;
  private final RedisKeys keys;
  private final boolean cluster;
  private final RedisScript append;
  private final RedisScript read;
  private final byte[] retentionMs;
  private final byte[] maxEntries;

  private static final byte[][] KINDS = {bytes("c"), bytes("p"), bytes("r")};
  private static final byte[] ONE = bytes("1");
  private static final byte[] ZERO = bytes("0");

  public RedisAppUpdateLog(RedisBackend backend) {
    this(backend, RETENTION);
  }

  /** With another retention (tests). */
  public RedisAppUpdateLog(RedisBackend backend, Duration retention) {
    this(backend, retention, StoreConfig.DEFAULT_UPDATE_LOG_MAX);
  }

  /** With another retention and at most {@code maxPerApp} updates kept per application. */
  public RedisAppUpdateLog(RedisBackend backend, Duration retention, int maxPerApp) {
    this.redis = backend.commands().async();
    this.keys = backend.keys();
    this.cluster = backend.cluster();
    // On a Redis Cluster the application's channel is a shard channel in its slot.
    this.append =
        new RedisScript(cluster ? APPEND.replace("'PUBLISH'", "'SPUBLISH'") : APPEND, redis);
    this.read = new RedisScript(READ, redis);
    this.retentionMs = bytes(retention.toMillis());
    this.maxEntries = bytes(maxPerApp);
  }

  /** Keys per application in {@link #APPEND_FUNCTIONS}' KEYS ({@link #appendKeys}). */
  public static final int APPEND_KEYS = 5;

  /**
   * The {@link #APPEND_KEYS} keys of {@code appId} in {@link #APPEND_FUNCTIONS}' KEYS: the
   * application's hash, stream, index, guard hash base name, the old format's counter.
   */
  public String[] appendKeys(long appId) {
    return new String[] {
      keys.app("ustate", appId),
      keys.app("ulog", appId),
      keys.app("uidx", appId),
      keys.app("uguards", appId),
      keys.app("useq", appId)
    };
  }

  /** The Redis channel of {@code appId}'s batch messages, as {@link #APPEND_FUNCTIONS} takes it. */
  public byte[] channelArg(long appId) {
    return bytes(keys.channel(AppUpdateBatchCodec.channel(appId)));
  }

  /** The first two arguments of {@link #APPEND_FUNCTIONS}: retention (ms), most numbers kept. */
  public byte[][] appendHeader() {
    return new byte[][] {retentionMs, maxEntries};
  }

  /** The keys of {@link #READ}. */
  private String[] keysFor(long appId) {
    return new String[] {
      keys.app("ustate", appId),
      keys.app("ulog", appId),
      keys.app("uidx", appId),
      keys.app("useq", appId)
    };
  }

  /** On a Redis Cluster, the application's slot; on one Redis, one group for all. */
  @Override
  public int slotGroup(long appId) {
    return cluster ? SlotHash.getSlot(keys.app("ulog", appId)) : 0;
  }

  private static byte[] bytes(Object o) {
    return String.valueOf(o).getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public CompletionStage<List<AppUpdate>> append(long appId, List<AppUpdate.New> updates) {
    if (updates.isEmpty()) {
      return CompletableFuture.completedFuture(List.of());
    }
    return appendAll(Map.of(appId, updates)).thenApply(m -> m.get(appId));
  }

  @Override
  public boolean publishesBatches() {
    return true;
  }

  @Override
  public boolean remote() {
    return true;
  }

  /**
   * Appends in one script call per slot group ({@link #slotGroup}; one on one Redis), the calls of
   * several groups at once.
   */
  @Override
  public CompletionStage<Map<Long, List<AppUpdate>>> appendAll(
      Map<Long, List<AppUpdate.New>> byApp) {
    Map<Integer, Map<Long, List<AppUpdate.New>>> bySlot = new HashMap<>();
    byApp.forEach(
        (app, updates) ->
            bySlot.computeIfAbsent(slotGroup(app), g -> new HashMap<>()).put(app, updates));
    if (bySlot.size() <= 1) {
      return appendSlot(byApp);
    }
    List<CompletableFuture<Map<Long, List<AppUpdate>>>> calls = new ArrayList<>(bySlot.size());
    for (Map<Long, List<AppUpdate.New>> part : bySlot.values()) {
      calls.add(appendSlot(part).toCompletableFuture());
    }
    return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new))
        .thenApply(
            v -> {
              Map<Long, List<AppUpdate>> out = new HashMap<>(byApp.size() * 2);
              for (CompletableFuture<Map<Long, List<AppUpdate>>> c : calls) {
                out.putAll(c.join());
              }
              return out;
            });
  }

  /** {@link #appendAll} for applications of one slot group: one script call. */
  private CompletionStage<Map<Long, List<AppUpdate>>> appendSlot(
      Map<Long, List<AppUpdate.New>> byApp) {
    List<Long> apps = new ArrayList<>(byApp.size());
    int total = 0;
    for (Map.Entry<Long, List<AppUpdate.New>> e : byApp.entrySet()) {
      if (!e.getValue().isEmpty()) {
        apps.add(e.getKey());
        total += e.getValue().size();
      }
    }
    Map<Long, List<AppUpdate>> out = new HashMap<>(byApp.size() * 2);
    for (Long app : byApp.keySet()) {
      out.put(app, List.of());
    }
    if (apps.isEmpty()) {
      return CompletableFuture.completedFuture(out);
    }
    String[] keyList = new String[apps.size() * APPEND_KEYS];
    PackedArgs args = new PackedArgs(64 + apps.size() * 64 + total * 160);
    args.bytes(retentionMs);
    args.bytes(maxEntries);
    for (int ai = 0; ai < apps.size(); ai++) {
      long appId = apps.get(ai);
      System.arraycopy(appendKeys(appId), 0, keyList, ai * APPEND_KEYS, APPEND_KEYS);
      List<AppUpdate.New> updates = byApp.get(appId);
      args.string(keys.channel(AppUpdateBatchCodec.channel(appId)));
      args.integer(updates.size());
      for (AppUpdate.New u : updates) {
        args.bytes(KINDS[u.kind().ordinal()]);
        args.decimal(u.version());
        args.bytes(u.status() == PresenceStatus.OFFLINE ? ONE : ZERO);
        args.string(u.puid());
        args.string(u.status().wireName() + ":" + u.message());
        args.bytes(AppUpdateBatchCodec.encodeDocument(u));
      }
    }
    return append
        .<List<Object>>run(ScriptOutputType.MULTI, keyList, args.end())
        .thenApply(
            res -> {
              Instant at = Instant.ofEpochMilli((Long) res.get(0));
              int r = 1;
              for (long appId : apps) {
                List<AppUpdate.New> updates = byApp.get(appId);
                long first = (Long) res.get(r++);
                int kept = (int) (long) (Long) res.get(r++);
                List<AppUpdate> numbered = new ArrayList<>(kept);
                for (int j = 0; j < kept; j++) {
                  AppUpdate.New u = updates.get((int) (long) (Long) res.get(r++) - 1);
                  numbered.add(
                      new AppUpdate(first + j, u.puid(), u.status(), u.message(), u.version(), at));
                }
                out.put(appId, numbered);
              }
              return out;
            });
  }

  @Override
  public CompletionStage<Read> readSince(long appId, long since, int limit) {
    return read.<List<Object>>run(
            ScriptOutputType.MULTI,
            keysFor(appId),
            retentionMs,
            bytes(since),
            bytes(limit),
            maxEntries)
        .thenApply(
            out -> {
              String outcome = new String((byte[]) out.get(0), StandardCharsets.UTF_8);
              long last = (Long) out.get(1);
              boolean more = (Long) out.get(2) == 1L;
              switch (outcome) {
                case "ahead":
                  return new Read(Outcome.AHEAD, List.of(), last, false);
                case "old":
                  return new Read(Outcome.TOO_OLD, List.of(), last, false);
                default:
                  List<AppUpdate> updates = new ArrayList<>();
                  for (int i = 3; i + 2 < out.size(); i += 3) {
                    long seq = (Long) out.get(i);
                    long ms = (Long) out.get(i + 1);
                    updates.add(decode(seq, Instant.ofEpochMilli(ms), (byte[]) out.get(i + 2)));
                  }
                  return new Read(Outcome.OK, updates, last, more);
              }
            });
  }

  @Override
  public CompletionStage<Long> lastSeq(long appId) {
    String hash = keys.app("ustate", appId);
    return RedisErrors.call(() -> redis.hget(hash, "~q"))
        .thenCompose(
            v -> {
              if (v != null) {
                return CompletableFuture.completedFuture(v);
              }
              // No counter in the hash: the old format's counter key while the application is
              // not carried over yet; with none either, the application never logged, and its
              // hash gets its counter at 0 (HSETNX: an append in between keeps its number), so
              // its next reads are one HGET.
              return RedisErrors.call(() -> redis.get(keys.app("useq", appId)))
                  .thenCompose(
                      old ->
                          old != null
                              ? CompletableFuture.completedFuture(old)
                              : RedisErrors.call(() -> redis.hsetnx(hash, "~q", ZERO))
                                  .thenApply(set -> (byte[]) null));
            })
        .thenApply(v -> v == null ? 0L : Long.parseLong(new String(v, StandardCharsets.UTF_8)));
  }

  private static AppUpdate decode(long seq, Instant at, byte[] data) {
    try {
      return AppUpdateBatchCodec.decodeDocument(seq, at, data, 0, data.length);
    } catch (IOException e) {
      throw new UncheckedIOException("corrupt update " + seq, e);
    }
  }
}
