package org.presence.store.redis;

import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Script calls over the keys of several slots of one Redis Cluster primary, so that a batch costs
 * one call per primary rather than one per slot. Redis routes a call by its declared keys, which
 * must share one slot (Redis 7.0 refuses declared keys of two slots, whatever the script's flags),
 * but lets a script without a flags line touch undeclared keys its node holds. Such a call declares
 * no key: it goes on the connection of the primary the caller's topology names for its first key's
 * slot (a node's own connection, which does not follow redirections), with the keys first in ARGV
 * after a marker and their count; the script starts its body with {@link #PROLOGUE}, which puts
 * them back in {@code KEYS}, and checks that the primary holds them before it writes ({@link
 * #CHECK}). A key of a slot the primary does not hold, or is moving away and no longer holds the
 * key of, or is taking in (a slot being resharded), fails the check; the primary refuses the call
 * before anything is written and the caller goes again with one call per slot ({@link #orBySlot}),
 * which declares its keys, so that Lettuce routes it and follows Redis's redirections as usual.
 * Were a spread call routed by a declared key, a redirection ({@code ASK}) of that key during a
 * reshard would take the whole call to the slot's new primary with the {@code ASKING} flag, under
 * which the keys of the slot that have not moved yet look absent rather than foreign. A call over
 * one slot while that slot is half moved is refused by Redis ({@code TRYAGAIN}); the caller may go
 * again with a call per key ({@link #orByKey}). On one Redis, or when the keys share a slot, a call
 * is made as it is.
 */
public final class SpreadCalls {
  /**
   * The start of a script body that may run over keys of several slots ({@link #run}): when the
   * call is spread ({@code spread} true), it rebinds {@code KEYS} and {@code ARGV} (as locals, for
   * the code after it) to the keys and the arguments as if every key had been declared. Functions
   * defined before it see no key, so they take their keys and arguments as parameters. Before it
   * writes anything, the script must ask the primary for every key of a spread call and return an
   * error starting {@code SPREAD} when it does not hold one: {@link #CHECK} does, or the script's
   * own first reads of its keys do (in {@code pcall}; {@code read_keys} below does).
   *
   * <p>It defines {@code read_keys(cmd)}: {@code cmd} (a read of one key, such as {@code EXISTS} or
   * {@code HGETALL}) on every key in turn, in {@code pcall}, returning their answers in the keys'
   * order, or the first error as an error reply, starting {@code SPREAD} when the call is spread. A
   * script may return what it returns as it is.
   */
  public static final String PROLOGUE =
      """
      local KEYS, ARGV = KEYS, ARGV
      local spread = ARGV[1] == '\0spread'
      if spread then
        local n = tonumber(ARGV[2])
        local k, a = {}, {}
        for i = 3, 2 + n do
          k[#k + 1] = ARGV[i]
        end
        for i = 3 + n, #ARGV do
          a[#a + 1] = ARGV[i]
        end
        KEYS, ARGV = k, a
      end
      local function read_keys(cmd)
        local out = {}
        for i = 1, #KEYS do
          local r = redis.pcall(cmd, KEYS[i])
          if type(r) == 'table' and r.err then
            if spread then
              return redis.error_reply('SPREAD ' .. r.err)
            end
            return redis.error_reply(r.err)
          end
          out[i] = r
        end
        return out
      end
      """;

  /**
   * After {@link #PROLOGUE}, for a script whose first reads do not check: defines {@code
   * check(from, to, stride)}, which asks the primary for the keys {@code KEYS[from..to]} of a
   * spread call ({@code EXISTS}, in {@code pcall}) and returns an error starting {@code SPREAD}
   * when it does not hold one (moved, or being moved, since the caller last saw the topology), nil
   * otherwise, and nil at once for a call that is not spread. (The call came on the primary's own
   * connection, without {@code ASKING}, so a key of a slot the primary is taking in fails too.) The
   * keys go in groups of {@code stride}: with a stride of 2 or more the first two keys of each
   * group share a hash tag (a user's queue and set of queues) and are asked about in one {@code
   * EXISTS}, which Redis refuses as it refuses one key's, also when the slot is being moved away
   * and one of the two has gone already ({@code ASK}, {@code TRYAGAIN}); every other key has its
   * own. The script calls it before it writes anything: {@code local e = check(1, #KEYS, 2) if e
   * then return e end}. (The pairs are the caller's to know: matching each key's hash tag in Lua
   * costs Redis more than the {@code EXISTS} it saves.)
   */
  public static final String CHECK =
      """
      local function check(from, to, stride)
        if not spread then
          return nil
        end
        for i = from, to, stride do
          local r
          if stride > 1 then
            r = redis.pcall('EXISTS', KEYS[i], KEYS[i + 1])
          else
            r = redis.pcall('EXISTS', KEYS[i])
          end
          for k = i + 2, i + stride - 1 do
            if type(r) == 'table' and r.err then
              break
            end
            r = redis.pcall('EXISTS', KEYS[k])
          end
          if type(r) == 'table' and r.err then
            return redis.error_reply('SPREAD ' .. r.err)
          end
        end
        return nil
      end
      """;

  private static final String[] NO_KEYS = {};

  private static final byte[] MARK = "\0spread".getBytes(StandardCharsets.UTF_8);

  private SpreadCalls() {}

  /**
   * Runs {@code script} (whose body starts with {@link #PROLOGUE} and checks its keys) over {@code
   * keys}: as they are when they share one slot (always on one Redis), else on the connection of
   * the primary {@code redis}'s topology names for the first key's slot, declaring none of them.
   * Such a call fails with {@code SPREAD}, having written nothing, when that primary does not hold
   * every key, or when the topology names no primary for the slot ({@link #refused}).
   */
  public static <T> CompletionStage<T> run(
      RedisScript script, RedisBackend redis, ScriptOutputType type, String[] keys, byte[][] args) {
    if (!redis.cluster() || oneSlot(keys)) {
      return script.run(type, keys, args);
    }
    String primary = redis.primaryOf(SlotHash.getSlot(keys[0]));
    if (primary == null) {
      return CompletableFuture.failedFuture(new RedisException("SPREAD no primary for the slot"));
    }
    byte[][] spread = spread(keys, args);
    return redis
        .node(primary)
        .exceptionallyCompose(
            e ->
                CompletableFuture.failedFuture(
                    new RedisException("SPREAD no connection to the primary: " + e)))
        .thenCompose(on -> script.runOn(on, type, NO_KEYS, spread));
  }

  /**
   * {@link #run} on {@code on}, the connection to one server: one Redis's ({@code cluster} false),
   * or a Redis Cluster primary's own, chosen by the caller for the first key's slot, which does not
   * follow redirections (a call for a slot the primary does not hold fails with {@code MOVED} or
   * {@code ASK}). Keys of one slot are declared, and the call goes again while that slot is half
   * moved ({@link RedisScript#run(RedisClusterAsyncCommands, ScriptOutputType, String[],
   * byte[]...)}); keys of several slots are spread, as {@link #run} does.
   */
  public static <T> CompletionStage<T> runOn(
      RedisScript script,
      RedisClusterAsyncCommands<String, byte[]> on,
      boolean cluster,
      ScriptOutputType type,
      String[] keys,
      byte[][] args) {
    if (!cluster || oneSlot(keys)) {
      return script.run(on, type, keys, args);
    }
    return script.runOn(on, type, NO_KEYS, spread(keys, args));
  }

  /** A spread call's arguments: the marker, the keys' count, the keys, then {@code args}. */
  private static byte[][] spread(String[] keys, byte[][] args) {
    byte[][] spread = new byte[2 + keys.length + args.length][];
    spread[0] = MARK;
    spread[1] = Integer.toString(keys.length).getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < keys.length; i++) {
      spread[2 + i] = keys[i].getBytes(StandardCharsets.UTF_8);
    }
    System.arraycopy(args, 0, spread, 2 + keys.length, args.length);
    return spread;
  }

  /** Whether every one of {@code keys} is in the first one's slot. */
  public static boolean oneSlot(String[] keys) {
    int first = SlotHash.getSlot(keys[0]);
    for (int i = 1; i < keys.length; i++) {
      if (SlotHash.getSlot(keys[i]) != first) {
        return false;
      }
    }
    return true;
  }

  /** Whether {@code e} is a {@link #run} over several slots that the primary refused. */
  public static boolean refused(Throwable e) {
    return RedisErrors.answered(e, "SPREAD ");
  }

  /**
   * {@code call}'s result, or, when a primary refused it ({@link #refused}), or Redis refused it as
   * a call over one half-moved slot ({@link RedisScript#halfMoved}; a batch whose keys all share a
   * slot is made as such a call), {@code bySlot}'s. Nothing of a refused call was written.
   */
  public static <T> CompletionStage<T> orBySlot(
      CompletionStage<T> call, Supplier<CompletionStage<T>> bySlot) {
    return call.exceptionallyCompose(
        e ->
            refused(e) || RedisScript.halfMoved(e)
                ? bySlot.get()
                : CompletableFuture.failedFuture(e));
  }

  /**
   * {@code call}'s result, or, when Redis refused it because its slot is half moved ({@link
   * #halfMoved}), {@code byKey}'s: calls of one key each, which Redis runs wherever the key is (the
   * old primary, or the new one after an {@code ASK} redirection that Lettuce follows).
   */
  public static <T> CompletionStage<T> orByKey(
      CompletionStage<T> call, Supplier<CompletionStage<T>> byKey) {
    return call.exceptionallyCompose(
        e -> RedisScript.halfMoved(e) ? byKey.get() : CompletableFuture.failedFuture(e));
  }

  /**
   * {@code call} once per group of {@code entries} ({@code groupOf}: a primary, or a slot after a
   * refusal), at once, with the results put back in the order of the entries; one call when they
   * are all in one group.
   */
  public static <E, T> CompletionStage<List<T>> split(
      List<E> entries,
      Function<E, Object> groupOf,
      Function<List<E>, CompletionStage<List<T>>> call) {
    Map<Object, List<Integer>> byGroup = new LinkedHashMap<>();
    for (int i = 0; i < entries.size(); i++) {
      byGroup.computeIfAbsent(groupOf.apply(entries.get(i)), g -> new ArrayList<>()).add(i);
    }
    if (byGroup.size() == 1) {
      return call.apply(entries);
    }
    List<List<Integer>> groups = new ArrayList<>(byGroup.values());
    List<CompletableFuture<List<T>>> calls = new ArrayList<>(groups.size());
    for (List<Integer> group : groups) {
      List<E> part = new ArrayList<>(group.size());
      for (int i : group) {
        part.add(entries.get(i));
      }
      calls.add(call.apply(part).toCompletableFuture());
    }
    return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new))
        .thenApply(
            v -> {
              List<T> results = new ArrayList<>(Collections.nCopies(entries.size(), null));
              for (int g = 0; g < groups.size(); g++) {
                List<T> got = calls.get(g).join();
                for (int j = 0; j < got.size(); j++) {
                  results.set(groups.get(g).get(j), got.get(j));
                }
              }
              return results;
            });
  }
}
