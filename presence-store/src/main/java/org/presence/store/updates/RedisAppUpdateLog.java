package org.presence.store.updates;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.presence.protocol.json.Json;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.RedisErrors;
import org.presence.store.redis.RedisKeys;
import org.presence.store.redis.RedisScript;

/**
 * {@link AppUpdateLog} in Redis. Per application: a counter ({@code <prefix>useq:<app>}, never
 * expires, so numbers keep increasing), a stream of updates whose entry ids are {@code <seq>-1}
 * ({@code <prefix>ulog:<app>}), and a time index with the first number of each second ({@code
 * <prefix>uidx:<app>}) used to trim the stream by age. Appending and reading are each one Lua
 * script, with Redis's own clock, so all nodes agree on numbers and on what is too old. Entries are
 * kept for the retention and up to one second more; idle applications' streams expire. Each PUID's
 * guard (last version, paused) is a key of its own, {@code <prefix>uguard:<app>:<puid>}, expiring
 * after the retention. A stream holds at most a bound of entries (exact {@code MAXLEN}), so Redis's
 * memory does not grow with the rate of updates.
 */
public final class RedisAppUpdateLog implements AppUpdateLog {
  /** Shared by both scripts: drop entries older than the retention (ARGV[1], ms). */
  private static final String TRIM =
      """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local cutoff = math.floor((now - tonumber(ARGV[1])) / 1000)
      local keep = redis.call('ZRANGEBYSCORE', KEYS[3], cutoff, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
      if #keep > 0 then
        redis.call('XTRIM', KEYS[2], 'MINID', keep[1] .. '-1')
        redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. cutoff)
      elseif redis.call('ZCARD', KEYS[3]) > 0 then
        redis.call('DEL', KEYS[2], KEYS[3])
      end
      """;

  /**
   * KEYS: counter, stream, index, then one guard key per update; ARGV: retention ms, most entries
   * kept, then four per update: kind ({@code c}, {@code p}, {@code r}), version (decimal), offline
   * ({@code 1} or {@code 0}), encoded update. Returns {first seq (0 when none kept), time, kept
   * positions...}. Versions are compared as numbers (exact below 2^53) but stored as the caller's
   * text, since Lua would print a large number in exponent form.
   */
  private static final String APPEND =
      TRIM
          + """
          local n = (#ARGV - 2) / 4
          local retention = tonumber(ARGV[1])
          local keep = {}
          for i = 1, n do
            local b = 2 + (i - 1) * 4
            local kind = ARGV[b + 1]
            local vtext = ARGV[b + 2]
            local version = tonumber(vtext)
            local gk = KEYS[3 + i]
            local lastText, paused = '0', false
            local g = redis.call('GET', gk)
            if g then
              local v, p = string.match(g, '^(%d+)(.*)$')
              lastText = v
              paused = (p == 'p')
            end
            local last = tonumber(lastText)
            local ok = false
            if kind == 'p' then
              ok = not paused
              paused = true
            elseif kind == 'r' and paused then
              paused = false
              if version > last then lastText = vtext end
              ok = ARGV[b + 3] ~= '1'
            else
              ok = (not paused) and (version == 0 or version > last)
              if ok and version > last then lastText = vtext end
            end
            redis.call('SET', gk, lastText .. (paused and 'p' or ''), 'PX', retention)
            if ok then keep[#keep + 1] = i end
          end
          local k = #keep
          if k == 0 then
            return {0, now}
          end
          local lastSeq = redis.call('INCRBY', KEYS[1], k)
          local first = lastSeq - k + 1
          for j = 1, k do
            local i = keep[j]
            redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], (first + j - 1) .. '-1', 't', now, 'd', ARGV[2 + (i - 1) * 4 + 4])
          end
          local sec = math.floor(now / 1000)
          if redis.call('ZCOUNT', KEYS[3], sec, sec) == 0 then
            redis.call('ZADD', KEYS[3], sec, first)
          end
          local ttl = retention * 2 + 1000
          redis.call('PEXPIRE', KEYS[2], ttl)
          redis.call('PEXPIRE', KEYS[3], ttl)
          local out = {first, now}
          for j = 1, k do
            out[#out + 1] = keep[j]
          end
          return out
          """;

  /**
   * KEYS: counter, stream, index; ARGV: retention ms, since, limit. Returns {outcome, last, more,
   * then per entry: seq, time, data}.
   */
  private static final String READ =
      TRIM
          + """
          local last = tonumber(redis.call('GET', KEYS[1]) or '0')
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
            oldestSeq = tonumber(string.match(oldest[1][1], '^(%d+)'))
          end
          if since + 1 < oldestSeq then
            return {'old', last, 0}
          end
          local limit = tonumber(ARGV[3])
          local entries = redis.call('XRANGE', KEYS[2], '(' .. since .. '-1', '+', 'COUNT', limit + 1)
          local out = {'ok', last, 0}
          for i, e in ipairs(entries) do
            if i > limit then
              out[3] = 1
              break
            end
            out[#out + 1] = tonumber(string.match(e[1], '^(%d+)'))
            out[#out + 1] = tonumber(e[2][2])
            out[#out + 1] = e[2][4]
          end
          return out
          """;

  private final RedisAsyncCommands<String, byte[]> redis;
  private final RedisKeys keys;
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
    this.append = new RedisScript(APPEND, redis);
    this.read = new RedisScript(READ, redis);
    this.retentionMs = bytes(retention.toMillis());
    this.maxEntries = bytes(maxPerApp);
  }

  private String[] keysFor(long appId) {
    return new String[] {
      keys.key("useq:" + appId), keys.key("ulog:" + appId), keys.key("uidx:" + appId)
    };
  }

  private static byte[] bytes(Object o) {
    return String.valueOf(o).getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public CompletionStage<List<AppUpdate>> append(long appId, List<AppUpdate.New> updates) {
    if (updates.isEmpty()) {
      return CompletableFuture.completedFuture(List.of());
    }
    String[] base = keysFor(appId);
    String[] keyList = new String[3 + updates.size()];
    System.arraycopy(base, 0, keyList, 0, 3);
    byte[][] args = new byte[2 + updates.size() * 4][];
    args[0] = retentionMs;
    args[1] = maxEntries;
    for (int i = 0; i < updates.size(); i++) {
      AppUpdate.New u = updates.get(i);
      keyList[3 + i] = keys.key("uguard:" + appId + ":" + u.puid());
      args[2 + i * 4] = KINDS[u.kind().ordinal()];
      args[3 + i * 4] = bytes(u.version());
      args[4 + i * 4] = u.status() == PresenceStatus.OFFLINE ? ONE : ZERO;
      args[5 + i * 4] = encode(u);
    }
    return append
        .<List<Object>>run(ScriptOutputType.MULTI, keyList, args)
        .thenApply(
            out -> {
              long first = (Long) out.get(0);
              Instant at = Instant.ofEpochMilli((Long) out.get(1));
              List<AppUpdate> numbered = new ArrayList<>(out.size() - 2);
              for (int j = 2; j < out.size(); j++) {
                AppUpdate.New u = updates.get((int) (long) (Long) out.get(j) - 1);
                numbered.add(
                    new AppUpdate(
                        first + j - 2, u.puid(), u.status(), u.message(), u.version(), at));
              }
              return numbered;
            });
  }

  @Override
  public CompletionStage<Read> readSince(long appId, long since, int limit) {
    return read.<List<Object>>run(
            ScriptOutputType.MULTI, keysFor(appId), retentionMs, bytes(since), bytes(limit))
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
    return RedisErrors.call(() -> redis.get(keys.key("useq:" + appId)))
        .thenApply(v -> v == null ? 0L : Long.parseLong(new String(v, StandardCharsets.UTF_8)));
  }

  private static byte[] encode(AppUpdate.New u) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(96);
    try (JsonGenerator g = Json.documents().createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("u", u.puid());
      g.writeStringField("s", u.status().wireName());
      if (!u.message().isEmpty()) {
        g.writeStringField("m", u.message());
      }
      if (u.version() != 0) {
        g.writeNumberField("v", u.version());
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static AppUpdate decode(long seq, Instant at, byte[] data) {
    String puid = "";
    PresenceStatus status = PresenceStatus.OFFLINE;
    String message = "";
    long version = 0;
    try (JsonParser p = Json.documents().createParser(data)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IOException("not an object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String f = p.currentName();
        p.nextToken();
        switch (f) {
          case "u" -> puid = p.getText();
          case "s" -> status = PresenceStatus.fromWire(p.getText()).orElse(PresenceStatus.OFFLINE);
          case "m" -> message = p.getText();
          case "v" -> version = p.getLongValue();
          default -> p.skipChildren();
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("corrupt update " + seq, e);
    }
    return new AppUpdate(seq, puid, status, message, version, at);
  }
}
