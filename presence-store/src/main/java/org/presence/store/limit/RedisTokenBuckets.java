package org.presence.store.limit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.lettuce.core.ScriptOutputType;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.RedisKeys;
import org.presence.store.redis.RedisScript;

/**
 * {@link TokenBuckets} in Redis, shared by every node: a bucket is one string key ({@code
 * <prefix>rate:{r:<name>:<key>}} holding the tokens left and when they were counted, expiring once
 * the bucket would be full again) and a {@link #take} is one script call, however many tokens it
 * wants: {@code EVALSHA} running {@code TIME}, {@code GET} and {@code SET} (or {@code DEL}): 4
 * commands, one round trip. The time is Redis's own, so the nodes' clocks need not agree.
 *
 * <p>Each node remembers, per key, until when the last answer said the bucket is empty, so that it
 * can refuse at once meanwhile ({@link #knownWait}) without asking Redis.
 */
public final class RedisTokenBuckets implements TokenBuckets {
  /**
   * KEYS: the bucket; ARGV: tokens per second, burst, tokens wanted. Returns {tokens got,
   * microseconds until a token is back (0: one is left)}.
   */
  private static final String TAKE =
      """
      local rate = tonumber(ARGV[1])
      local burst = tonumber(ARGV[2])
      local wanted = tonumber(ARGV[3])
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
      local tokens = burst
      local s = redis.call('GET', KEYS[1])
      if s then
        local sep = string.find(s, ' ', 1, true)
        local at = tonumber(string.sub(s, sep + 1))
        tokens = tonumber(string.sub(s, 1, sep - 1))
        if now > at then
          tokens = math.min(burst, tokens + (now - at) * rate / 1000000)
        else
          now = at
        end
      end
      local got = math.floor(math.min(wanted, tokens))
      if got < 0 then
        got = 0
      end
      tokens = tokens - got
      local wait = 0
      if tokens < 1 then
        wait = math.ceil((1 - tokens) * 1000000 / rate)
      end
      local full = math.ceil((burst - tokens) * 1000 / rate)
      if full > 0 then
        redis.call('SET', KEYS[1], string.format('%.17g %.17g', tokens, now), 'PX', full)
      elseif s then
        redis.call('DEL', KEYS[1])
      end
      return {got, wait}
      """;

  private final RedisScript take;
  private final RedisKeys keys;
  private final String name;
  private final byte[] rate;
  private final byte[] burst;
  private final Cache<Long, Long> emptyUntil;

  /**
   * Buckets called {@code name} (part of their keys) of {@code perSecond} tokens a second up to
   * {@code burst}; this node remembers empty buckets for at most {@code maxKeys} keys.
   */
  public RedisTokenBuckets(
      RedisBackend backend, String name, double perSecond, int burst, long maxKeys) {
    if (!(perSecond > 0) || burst < 1) {
      throw new IllegalArgumentException("a bucket needs a positive rate and burst");
    }
    this.take = new RedisScript(TAKE, backend.commands().async());
    this.keys = backend.keys();
    this.name = name;
    this.rate = bytes(Double.toString(perSecond));
    this.burst = bytes(Integer.toString(burst));
    this.emptyUntil =
        Caffeine.newBuilder()
            .maximumSize(maxKeys)
            .expireAfterWrite(LocalTokenBuckets.refillTime(perSecond, burst))
            .build();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public CompletionStage<Taken> take(long key, int wanted) {
    return take.<List<Object>>run(
            ScriptOutputType.MULTI,
            new String[] {keys.group("r:" + name + ":" + key, "rate", "")},
            rate,
            burst,
            bytes(Integer.toString(Math.max(0, wanted))))
        .thenApply(
            r -> {
              int got = ((Long) r.get(0)).intValue();
              long nanosToNext = (Long) r.get(1) * 1000;
              if (nanosToNext > 0) {
                emptyUntil.put(key, System.nanoTime() + nanosToNext);
              } else {
                emptyUntil.invalidate(key);
              }
              return new Taken(got, nanosToNext);
            });
  }

  @Override
  public long knownWait(long key) {
    Long until = emptyUntil.getIfPresent(key);
    return until == null ? 0 : Math.max(0, until - System.nanoTime());
  }
}
