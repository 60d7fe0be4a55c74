package org.presence.store.queue;

import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.presence.protocol.error.ErrorCode;
import org.presence.store.error.StoreException;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.RedisErrors;
import org.presence.store.redis.RedisKeys;
import org.presence.store.redis.RedisScript;

/**
 * {@link NotificationQueues} in Redis: each (user, app) queue is a list ({@code
 * <prefix>nq:{u:<userKey>}:<appId>}) and each user has a set of the apps with a non-empty queue
 * ({@code <prefix>nqa:{u:<userKey>}}). Every operation is one Lua script, so it is atomic and costs
 * one round trip (a whole batch included). A user's keys share the user's hash tag; on a Redis
 * Cluster a batch for users of several slots goes as one script call per slot, concurrently (each
 * call atomic on its own). Durability is Redis's: run it with {@code appendonly yes} (see
 * docs/operations.md).
 *
 * <p>With {@code store.redis.ack-replicas} above zero, {@link #enqueueAll} completes only once that
 * many replicas have the batch: the script runs on the backend's {@link RedisBackend#acknowledged()
 * acknowledged} connection and is followed there by {@code WAIT replicas timeout}. Fewer replicas
 * within the timeout, or that connection lost between the two, fail the call with {@code
 * BACKEND_UNAVAILABLE}: the batch may be stored on the primary, but it is not acknowledged (the
 * caller retries, and may then store it twice).
 */
public final class RedisNotificationQueues implements NotificationQueues {
  /** KEYS: per item (queue, app set); ARGV: capacity, then per item (entry, app id). */
  private static final String ENQUEUE =
      """
      local cap = tonumber(ARGV[1])
      local out = {}
      for i = 1, #KEYS, 2 do
        local k = (i + 1) / 2
        local n = redis.call('RPUSH', KEYS[i], ARGV[2 * k])
        local dropped = {}
        if n > cap then
          dropped = redis.call('LRANGE', KEYS[i], 0, n - cap - 1)
          redis.call('LTRIM', KEYS[i], n - cap, -1)
          n = cap
        end
        redis.call('SADD', KEYS[i + 1], ARGV[2 * k + 1])
        out[#out + 1] = n
        out[#out + 1] = #dropped
        for _, d in ipairs(dropped) do
          out[#out + 1] = d
        end
      end
      return out
      """;

  /** KEYS: app set; ARGV: queue key prefix. Returns app id, count, items... per app. */
  private static final String PENDING =
      """
      local out = {}
      for _, app in ipairs(redis.call('SMEMBERS', KEYS[1])) do
        local items = redis.call('LRANGE', ARGV[1] .. app, 0, -1)
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
      return out
      """;

  /**
   * KEYS: per group (queue, app set); ARGV: per group app id, id count, ids. Returns per group the
   * count of removed items, then the items.
   */
  private static final String REMOVE_ALL =
      """
      local a = 1
      local out = {}
      for g = 1, #KEYS, 2 do
        local app = ARGV[a]
        local n = tonumber(ARGV[a + 1])
        local want = {}
        for i = a + 2, a + 1 + n do
          want[ARGV[i]] = true
        end
        a = a + 2 + n
        local removed = {}
        for _, it in ipairs(redis.call('LRANGE', KEYS[g], 0, -1)) do
          local id = string.match(it, '^(%S+) ')
          if id and want[id] then
            redis.call('LREM', KEYS[g], 1, it)
            removed[#removed + 1] = it
          end
        end
        if redis.call('LLEN', KEYS[g]) == 0 then
          redis.call('SREM', KEYS[g + 1], app)
        end
        out[#out + 1] = #removed
        for _, it in ipairs(removed) do
          out[#out + 1] = it
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

  private final RedisClusterAsyncCommands<String, byte[]> redis;
  private final RedisKeys keys;
  private final RedisScript enqueue;
  private final RedisScript pending;
  private final RedisScript removeAll;
  private final RedisScript clear;
  private final RedisBackend backend;
  private final RedisClusterAsyncCommands<String, byte[]> acknowledged;
  private final int ackReplicas;
  private final long ackTimeoutMillis;

  public RedisNotificationQueues(RedisBackend backend) {
    this.backend = backend;
    this.redis = backend.commands().async();
    this.keys = backend.keys();
    this.ackReplicas = backend.config().ackReplicas();
    this.ackTimeoutMillis = Math.max(1, backend.config().ackTimeout().toMillis());
    this.acknowledged = backend.acknowledged() != null ? backend.acknowledged().async() : null;
    this.enqueue = new RedisScript(ENQUEUE, acknowledged != null ? acknowledged : redis);
    this.pending = new RedisScript(PENDING, redis);
    this.removeAll = new RedisScript(REMOVE_ALL, redis);
    this.clear = new RedisScript(CLEAR, redis);
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

  @Override
  public CompletionStage<List<Enqueued>> enqueueAll(List<Entry> entries) {
    if (entries.isEmpty()) {
      return CompletableFuture.completedFuture(List.of());
    }
    Map<Integer, List<Integer>> bySlot = new LinkedHashMap<>();
    for (int i = 0; i < entries.size(); i++) {
      bySlot.computeIfAbsent(slot(entries.get(i).userSub()), s -> new ArrayList<>()).add(i);
    }
    if (bySlot.size() == 1) {
      return enqueueSlot(entries);
    }
    // One call per slot, at once; the results go back in the order of the entries.
    List<List<Integer>> groups = new ArrayList<>(bySlot.values());
    List<CompletableFuture<List<Enqueued>>> calls = new ArrayList<>(groups.size());
    for (List<Integer> group : groups) {
      List<Entry> part = new ArrayList<>(group.size());
      for (int i : group) {
        part.add(entries.get(i));
      }
      calls.add(enqueueSlot(part).toCompletableFuture());
    }
    return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new))
        .thenApply(
            v -> {
              Enqueued[] results = new Enqueued[entries.size()];
              for (int g = 0; g < groups.size(); g++) {
                List<Enqueued> got = calls.get(g).join();
                for (int j = 0; j < got.size(); j++) {
                  results[groups.get(g).get(j)] = got.get(j);
                }
              }
              return List.of(results);
            });
  }

  /** {@link #enqueueAll} for entries whose users' keys are all in one slot: one script call. */
  private CompletionStage<List<Enqueued>> enqueueSlot(List<Entry> entries) {
    String[] k = new String[entries.size() * 2];
    byte[][] args = new byte[entries.size() * 2 + 1][];
    args[0] = bytes(CAPACITY);
    for (int i = 0; i < entries.size(); i++) {
      Entry e = entries.get(i);
      String userKey = UserKeys.of(e.userSub());
      k[2 * i] = queueKey(userKey, e.notification().appId());
      k[2 * i + 1] = appSetKey(userKey);
      args[2 * i + 1] = NotificationCodec.encode(e.notification());
      args[2 * i + 2] = bytes(e.notification().appId());
    }
    return replicated(() -> enqueue.<List<Object>>run(ScriptOutputType.MULTI, k, args))
        .thenApply(
            out -> {
              List<Enqueued> results = new ArrayList<>(entries.size());
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
            });
  }

  /**
   * Runs {@code write} and, when replicas must acknowledge, {@code WAIT} on the same connection
   * right after it answers; fails with {@code BACKEND_UNAVAILABLE} when fewer replicas than asked
   * confirm within the timeout or the connection was lost in between (a {@code WAIT} on a new
   * connection covers none of the writes of the old one).
   */
  private <T> CompletionStage<T> replicated(Supplier<CompletionStage<T>> write) {
    if (acknowledged == null) {
      return write.get();
    }
    long disconnects = backend.acknowledgedDisconnects();
    return write
        .get()
        .thenCompose(
            result ->
                RedisErrors.call(
                        () -> acknowledged.waitForReplication(ackReplicas, ackTimeoutMillis))
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

  @Override
  public CompletionStage<List<Notification>> pending(String userSub) {
    String userKey = UserKeys.of(userSub);
    return pending
        .<List<Object>>run(
            ScriptOutputType.MULTI,
            new String[] {appSetKey(userKey)},
            bytes(keys.user("nq", userKey) + ":"))
        .thenApply(
            out -> {
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
            });
  }

  @Override
  public CompletionStage<Map<String, List<Notification>>> removeAll(
      Map<String, ? extends Map<Long, ? extends Collection<String>>> idsByUser) {
    Map<Integer, Map<String, Map<Long, ? extends Collection<String>>>> bySlot =
        new LinkedHashMap<>();
    idsByUser.forEach(
        (user, byApp) ->
            bySlot.computeIfAbsent(slot(user), s -> new LinkedHashMap<>()).put(user, byApp));
    if (bySlot.size() <= 1) {
      return removeSlot(idsByUser);
    }
    // One call per slot, at once; the users are distinct, so the answers merge.
    List<CompletableFuture<Map<String, List<Notification>>>> calls = new ArrayList<>();
    for (Map<String, Map<Long, ? extends Collection<String>>> part : bySlot.values()) {
      calls.add(removeSlot(part).toCompletableFuture());
    }
    return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new))
        .thenApply(
            v -> {
              Map<String, List<Notification>> removed = new java.util.HashMap<>();
              for (CompletableFuture<Map<String, List<Notification>>> c : calls) {
                removed.putAll(c.join());
              }
              return removed;
            });
  }

  /** {@link #removeAll} for users whose keys are all in one slot: one script call. */
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
    return removeAll
        .<List<Object>>run(
            ScriptOutputType.MULTI, keyList.toArray(String[]::new), argList.toArray(byte[][]::new))
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
  public CompletionStage<Boolean> claimAnswer(String id, java.time.Instant expiresAt) {
    long ttl = Math.max(1, expiresAt.toEpochMilli() - System.currentTimeMillis());
    return RedisErrors.call(
            () ->
                redis.set(
                    keys.key("nans:" + id), bytes(1), io.lettuce.core.SetArgs.Builder.nx().px(ttl)))
        .thenApply("OK"::equals);
  }

  /** Claims expire on their own in Redis. */
  @Override
  public CompletionStage<Integer> purgeAnswers(java.time.Instant now) {
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
        .thenApply(out -> out.stream().map(o -> NotificationCodec.decode((byte[]) o)).toList());
  }
}
