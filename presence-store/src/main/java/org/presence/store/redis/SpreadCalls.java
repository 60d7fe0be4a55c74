package org.presence.store.redis;

import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.SlotHash;
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
 * its first key and passes the others first in ARGV, after a marker and their count; the script
 * starts its body with {@link #PROLOGUE}, which puts them back in {@code KEYS}, and checks that the
 * primary holds them before it writes ({@link #CHECK}). The caller groups keys by the primary its
 * topology names for their slots; when that topology is out of date (a slot moved, or being moved)
 * the primary refuses the call before anything is written and the caller goes again with one call
 * per slot ({@link #orBySlot}), which Lettuce routes and redirects as usual. On one Redis, or when
 * the keys share a slot, a call is made as it is.
 */
public final class SpreadCalls {
  /**
   * The start of a script body that may run over keys of several slots ({@link #run}): when the
   * call is spread ({@code spread} true), it rebinds {@code KEYS} and {@code ARGV} (as locals, for
   * the code after it) to the keys and the arguments as if every key had been declared. Functions
   * defined before it see the declared key only, so they take their keys and arguments as
   * parameters. Before it writes anything, the script must ask the primary for every key of a
   * spread call and return an error starting {@code SPREAD} when it does not hold one: {@link
   * #CHECK} does, or the script's own first reads of its keys do (in {@code pcall}).
   */
  public static final String PROLOGUE =
      """
      local KEYS, ARGV = KEYS, ARGV
      local spread = ARGV[1] == '\0spread'
      if spread then
        local n = tonumber(ARGV[2])
        local k, a = {KEYS[1]}, {}
        for i = 3, 2 + n do
          k[#k + 1] = ARGV[i]
        end
        for i = 3 + n, #ARGV do
          a[#a + 1] = ARGV[i]
        end
        KEYS, ARGV = k, a
      end
      """;

  /**
   * After {@link #PROLOGUE}, for a script whose first reads do not check: asks the primary for
   * every key of a spread call ({@code EXISTS}, in {@code pcall}); a key of a slot it does not hold
   * (moved, or being moved, since the caller last saw the topology) fails the call with {@code
   * SPREAD} and nothing written.
   */
  public static final String CHECK =
      """
      if spread then
        for i = 2, #KEYS do
          local r = redis.pcall('EXISTS', KEYS[i])
          if type(r) == 'table' and r.err then
            return redis.error_reply('SPREAD ' .. r.err)
          end
        end
      end
      """;

  private static final byte[] MARK = "\0spread".getBytes(StandardCharsets.UTF_8);

  private SpreadCalls() {}

  /**
   * Runs {@code script} (whose body starts with {@link #PROLOGUE} and checks its keys) over {@code
   * keys}: as they are when they share one slot (always on one Redis, {@code cluster} false), else
   * declaring the first and passing the others in ARGV. Such a call fails with {@code SPREAD},
   * having written nothing, when the primary the first key routes it to does not hold every key
   * ({@link #refused}).
   */
  public static <T> CompletableFuture<T> run(
      RedisScript script, boolean cluster, ScriptOutputType type, String[] keys, byte[][] args) {
    if (!cluster || oneSlot(keys)) {
      return script.run(type, keys, args);
    }
    byte[][] spread = new byte[1 + keys.length + args.length][];
    spread[0] = MARK;
    spread[1] = Integer.toString(keys.length - 1).getBytes(StandardCharsets.UTF_8);
    for (int i = 1; i < keys.length; i++) {
      spread[1 + i] = keys[i].getBytes(StandardCharsets.UTF_8);
    }
    System.arraycopy(args, 0, spread, 1 + keys.length, args.length);
    return script.run(type, new String[] {keys[0]}, spread);
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
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof RedisException
          && t.getMessage() != null
          && t.getMessage().startsWith("SPREAD ")) {
        return true;
      }
    }
    return false;
  }

  /** {@code call}'s result, or, when a primary refused it ({@link #refused}), {@code bySlot}'s. */
  public static <T> CompletionStage<T> orBySlot(
      CompletionStage<T> call, Supplier<CompletionStage<T>> bySlot) {
    return call.exceptionallyCompose(
        e -> refused(e) ? bySlot.get() : CompletableFuture.failedFuture(e));
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
