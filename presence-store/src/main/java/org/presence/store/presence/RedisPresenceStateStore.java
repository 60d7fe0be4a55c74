package org.presence.store.presence;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.lettuce.core.KeyScanArgs;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.SlotHash;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.presence.protocol.json.Json;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.redis.PackedArgs;
import org.presence.store.redis.RedisBackend;
import org.presence.store.redis.RedisErrors;
import org.presence.store.redis.RedisScript;
import org.presence.store.redis.SpreadCalls;

/**
 * The cluster {@link PresenceStateStore}: one Redis hash per user ({@code <prefix>pres:<user>}),
 * changed only by the {@code presence.lua} script, which applies the rules of {@link
 * PresenceAggregator} atomically. Nodes sharing a Redis therefore agree on each device's owner and
 * on what every audience was last shown, so a change is reported to exactly one caller.
 *
 * <p>The script runs through {@link RedisScript}: by its SHA1, sent again after Redis lost it.
 *
 * <p>The user's hash carries the user's hash tag ({@code <prefix>pres:{u:<user>}}), so on a Redis
 * Cluster the script touches the user's slot only. The node indexes ({@code
 * <prefix>nodedev:<node>}) are then kept by this class around the script instead of inside it: the
 * claim's answer names the previous owner, and a release reads the owner's node first ({@code
 * HGET}), so a claim costs one round trip more and a release two; a node that dies between the
 * script and the index write leaves the index one entry short or long (the entry's session decides:
 * a release of a stale one answers not-owner).
 */
public final class RedisPresenceStateStore implements PresenceStateStore {
  /**
   * The presence rules: {@code presence.lua}, which defines {@code presence_op(key, ARGV)}; one
   * copy, run alone here and for every update of a batch by {@link RedisStatusBatches}.
   */
  static final String RULES = loadScript();

  private static final String SCRIPT = RULES + "\nreturn presence_op(KEYS[1], ARGV)\n";

  private final RedisBackend redis;
  private final RedisScript script;
  private final RedisScript sweep;
  private final RedisScript hashes;

  /** On a Redis Cluster: the script keeps no node index, this class does ({@link #indexed}). */
  private final boolean cluster;

  /** Healing on read, once the node set it ({@link #healOnRead}). */
  private volatile ReadHealing healing;

  /** The key prefix of the node indexes, as the script's last argument (made once). */
  private final byte[] nodeIndexPrefix;

  public RedisPresenceStateStore(RedisBackend redis) {
    this.redis = redis;
    this.script = new RedisScript(SCRIPT, redis.commands().async());
    this.cluster = redis.cluster();
    this.sweep = new RedisScript(SWEEP, redis.commands().async());
    this.hashes = new RedisScript(HASHES, redis.commands().async());
    this.nodeIndexPrefix = cluster ? new byte[0] : utf8(nodeIndexKey(""));
  }

  private static String loadScript() {
    try (InputStream in = RedisPresenceStateStore.class.getResourceAsStream("presence.lua")) {
      if (in == null) {
        throw new IllegalStateException("presence.lua missing from the class path");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public String kind() {
    return "redis";
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(Object o) {
    return o == null ? "" : new String((byte[]) o, StandardCharsets.UTF_8);
  }

  private <T> CompletionStage<T> run(String user, byte[][] args, Function<List<Object>, T> map) {
    String[] keys = {redis.keys().presence(user)};
    return script
        .<List<Object>>run(ScriptOutputType.MULTI, keys, withUser(user, args))
        .thenApply(map);
  }

  /** {@code args} followed by the last two arguments of every op: the user, the index prefix. */
  private byte[][] withUser(String user, byte[][] args) {
    byte[][] all = java.util.Arrays.copyOf(args, args.length + 2);
    all[args.length] = utf8(user);
    all[args.length + 1] = nodeIndexPrefix;
    return all;
  }

  /** The key of {@code user}'s hash. */
  String key(String user) {
    return redis.keys().presence(user);
  }

  /** The key of {@code node}'s index of devices. */
  private String nodeIndexKey(String node) {
    return redis.keys().key("nodedev:" + node);
  }

  @Override
  public CompletionStage<Claim> claim(
      String user, String device, UUID session, String node, int maxDevices, long now) {
    byte[][] args = {
      utf8("claim"),
      utf8(device),
      utf8(session.toString()),
      utf8(Long.toString(now)),
      utf8(node),
      utf8(Integer.toString(maxDevices))
    };
    CompletionStage<Claim> claim =
        run(
            user,
            args,
            reply -> {
              if (reply.size() > 2 && "full".equals(text(reply.get(2)))) {
                return Claim.FULL;
              }
              UUID previous = uuid(text(reply.get(0)));
              return previous == null ? Claim.NONE : new Claim(previous, text(reply.get(1)));
            });
    if (!cluster) {
      return claim;
    }
    return claim.thenCompose(
        c -> {
          if (c == Claim.FULL) {
            return CompletableFuture.completedFuture(c);
          }
          CompletionStage<?> moved =
              c.previousSession() == null || c.previousNode().isEmpty()
                  ? CompletableFuture.completedFuture(null)
                  : indexed(
                      () ->
                          redis
                              .commands()
                              .async()
                              .srem(
                                  nodeIndexKey(c.previousNode()),
                                  member(c.previousSession(), user, device)));
          return moved
              .thenCompose(
                  v ->
                      indexed(
                          () ->
                              redis
                                  .commands()
                                  .async()
                                  .sadd(nodeIndexKey(node), member(session, user, device))))
              .thenApply(v -> c);
        });
  }

  /** A node index member: {@code <session>:<byte length of user>:<user><device>}. */
  private static byte[] member(UUID session, String user, String device) {
    return utf8(session + ":" + utf8(user).length + ":" + user + device);
  }

  /** Runs a node-index command (Redis Cluster only), failures as for the script. */
  private static CompletionStage<Void> indexed(
      java.util.function.Supplier<CompletionStage<?>> command) {
    try {
      return command
          .get()
          .handle(
              (n, e) -> {
                if (e != null) {
                  throw RedisErrors.unavailable(e);
                }
                return null;
              });
    } catch (RedisException e) {
      return CompletableFuture.failedFuture(RedisErrors.unavailable(e).getCause());
    }
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
    return script
        .<List<Object>>run(
            ScriptOutputType.MULTI,
            new String[] {key(user)},
            updateArgs(user, device, session, status, message, applicationIds, messages, now))
        .thenApply(RedisPresenceStateStore::toUpdate);
  }

  /** The arguments of {@code presence_op}'s update, the user and index prefix included. */
  byte[][] updateArgs(
      String user,
      String device,
      UUID session,
      PresenceStatus status,
      String message,
      ApplicationIds applicationIds,
      UserMessages messages,
      long now) {
    byte[][] args = {
      utf8("update"),
      utf8(device),
      utf8(session == null ? "" : session.toString()),
      utf8(Long.toString(now)),
      utf8(status.wireName()),
      utf8(message == null ? "0" : "1"),
      utf8(message == null ? "" : message),
      utf8(applicationIds == null ? "-" : applicationIds.toCsv()),
      utf8(messages == null ? "0" : "1"),
      utf8(messages == null || messages.online() == null ? "" : messages.online()),
      utf8(messages == null || messages.away() == null ? "" : messages.away())
    };
    return withUser(user, args);
  }

  /**
   * {@link #updateArgs} into {@code out}, for {@link RedisStatusBatches}' packed argument: the ten
   * after the op (device, session, now, status, message flag, message, applications, messages flag,
   * mo, ma) and the user; the op ({@code update}) and the index prefix are the script's to add (the
   * same for every update of a batch). {@code now} goes as a number, the rest as strings.
   */
  void packUpdate(
      PackedArgs out,
      String user,
      String device,
      UUID session,
      PresenceStatus status,
      String message,
      ApplicationIds applicationIds,
      UserMessages messages,
      long now) {
    out.string(device);
    if (session == null) {
      out.string("");
    } else {
      out.uuid(session);
    }
    if (now >= 0) {
      out.integer(now);
    } else {
      out.decimal(now);
    }
    out.string(status.wireName());
    out.string(message == null ? "0" : "1");
    out.string(message);
    if (applicationIds == null) {
      out.string("-");
    } else {
      out.csv(applicationIds);
    }
    out.string(messages == null ? "0" : "1");
    out.string(messages == null ? null : messages.online());
    out.string(messages == null ? null : messages.away());
    out.string(user);
  }

  /** The key prefix of the node indexes, the last argument of every op. */
  byte[] nodeIndexPrefix() {
    return nodeIndexPrefix;
  }

  @Override
  public CompletionStage<PresenceUpdate> messages(String user, UserMessages messages, long now) {
    byte[][] args = {
      utf8("messages"),
      utf8(""),
      utf8(""),
      utf8(Long.toString(now)),
      utf8(messages.online() == null ? "" : messages.online()),
      utf8(messages.away() == null ? "" : messages.away())
    };
    return run(user, args, RedisPresenceStateStore::toUpdate);
  }

  @Override
  public CompletionStage<PresenceUpdate> release(
      String user, String device, UUID session, long now) {
    byte[][] args = {
      utf8("release"), utf8(device), utf8(session.toString()), utf8(Long.toString(now))
    };
    if (!cluster) {
      return run(user, args, RedisPresenceStateStore::toUpdate);
    }
    // The owner's node, read before: a released device's entry is gone after the script.
    CompletableFuture<String> ownerNode = new CompletableFuture<>();
    indexed(
            () ->
                redis
                    .commands()
                    .async()
                    .hget(redis.keys().presence(user), "d:" + device)
                    .thenAccept(
                        raw -> {
                          DeviceState d = raw == null ? null : readDevice(raw);
                          ownerNode.complete(
                              d != null && session.equals(d.session()) ? d.node() : "");
                        }))
        .whenComplete(
            (v, e) -> {
              if (e != null) {
                ownerNode.completeExceptionally(e);
              }
            });
    return ownerNode.thenCompose(
        node ->
            run(user, args, RedisPresenceStateStore::toUpdate)
                .thenCompose(
                    u ->
                        u == PresenceUpdate.NOT_OWNER || node.isEmpty()
                            ? CompletableFuture.completedFuture(u)
                            : indexed(
                                    () ->
                                        redis
                                            .commands()
                                            .async()
                                            .srem(
                                                nodeIndexKey(node), member(session, user, device)))
                                .thenApply(v -> u)));
  }

  static PresenceUpdate toUpdate(List<Object> reply) {
    if (!"ok".equals(text(reply.get(0)))) {
      return PresenceUpdate.NOT_OWNER;
    }
    String[] values = new String[reply.size() - 2];
    for (int i = 0; i < values.length; i++) {
      values[i] = text(reply.get(i + 2));
    }
    return toUpdate(text(reply.get(1)), values);
  }

  /**
   * An {@code "ok"} reply of presence_op: its own scopes (comma-separated application ids) and the
   * values after them, four per change (application id, status, message or "", version).
   */
  private static PresenceUpdate toUpdate(String ownScopes, String[] values) {
    ApplicationIds own = ApplicationIds.fromCsv(ownScopes);
    List<PresenceChange> changes = new ArrayList<>(values.length / 4);
    for (int i = 0; i + 3 < values.length; i += 4) {
      String message = values[i + 2];
      changes.add(
          new PresenceChange(
              Long.parseLong(values[i]),
              status(values[i + 1]),
              message.isEmpty() ? null : message,
              Long.parseLong(values[i + 3])));
    }
    changes.sort(Comparator.comparingLong(PresenceChange::appId));
    return changes.isEmpty() && own.isEmpty()
        ? PresenceUpdate.UNCHANGED
        : new PresenceUpdate(true, changes, own);
  }

  /** The session written by the script, or {@code null} for none ("" or not a UUID). */
  private static UUID uuid(String s) {
    if (s == null || s.isEmpty()) {
      return null;
    }
    try {
      return UUID.fromString(s);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /** {@code s} as a Redis glob pattern that matches only itself. */
  private static String glob(String s) {
    StringBuilder b = new StringBuilder(s.length() + 4);
    for (char c : s.toCharArray()) {
      if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
        b.append('\\');
      }
      b.append(c);
    }
    return b.toString();
  }

  /** The live nodes as presence_op's orphans arguments (from ARGV[5]). */
  private static List<byte[]> orphanArgs(Collection<String> liveNodes, long now) {
    List<byte[]> args = new ArrayList<>(liveNodes.size() + 4);
    args.add(utf8("orphans"));
    args.add(utf8(""));
    args.add(utf8(""));
    args.add(utf8(Long.toString(now)));
    for (String n : liveNodes) {
      args.add(utf8(n));
    }
    return args;
  }

  @Override
  public CompletionStage<PresenceUpdate> releaseOrphans(
      String user, Collection<String> liveNodes, long now) {
    return run(
        user, orphanArgs(liveNodes, now).toArray(new byte[0][]), RedisPresenceStateStore::toUpdate);
  }

  /**
   * KEYS: users' hashes; ARGV: now, the live nodes. presence_op's orphans on each; returns {key
   * position, reply, ...} for the users whose devices it released.
   */
  private static final String SWEEP =
      RULES
          + """

          local args = {'orphans', '', '', ARGV[1]}
          for i = 2, #ARGV do
            args[#args + 1] = ARGV[i]
          end
          args[#args + 1] = ''
          args[#args + 1] = ''
          local out = {}
          for i = 1, #KEYS do
            local r = presence_op(KEYS[i], args)
            if r[1] == 'ok' and #r > 2 then
              out[#out + 1] = i
              out[#out + 1] = r
            end
          end
          return out
          """;

  /**
   * The hashes of the users whose keys it is given, in their order, for {@link #presence(List)}:
   * read only, spread over the slots of one primary ({@link SpreadCalls}), where a key of a slot
   * the primary does not hold fails the call (nothing is written anyway).
   */
  private static final String HASHES =
      SpreadCalls.PROLOGUE
          + """
          return read_keys('HGETALL')
          """;

  /**
   * Two calls per page: a {@code SCAN} of the presence hashes ({@code TYPE hash}, {@code COUNT}
   * {@code count}), then one script over the keys it found (presence_op's orphans on each: one
   * {@code HGETALL} per user, and writes only for users with orphans).
   *
   * <p>On a Redis Cluster the sweep visits the shards one after the other (the cursor is {@code
   * <shard>:<cursor>}), and a script may touch one slot only, so the page's keys go as one script
   * call per slot, sent at once: about one call per user found, where one Redis needs one call.
   */
  @Override
  public CompletionStage<SweepPage> sweep(
      String cursor, int count, Collection<String> liveNodes, long now) {
    // Presence keys are <prefix>pres:{u:<user>}: match up to the tag's opening, strip both ends.
    String tagged = redis.keys().presence("");
    String keyPrefix = tagged.substring(0, tagged.length() - 1);
    KeyScanArgs scan = KeyScanArgs.Builder.type("hash").match(glob(keyPrefix) + "*").limit(count);
    int shard = 0;
    String at = cursor;
    if (cluster) {
      int colon = cursor.indexOf(':');
      if (colon > 0) {
        shard = Integer.parseInt(cursor.substring(0, colon));
        at = cursor.substring(colon + 1);
      }
    }
    int shardNow = shard;
    String atNow = at;
    CompletionStage<KeyScanCursor<String>> page;
    try {
      page = redis.shard(shardNow).thenCompose(c -> c.scan(ScanCursor.of(atNow), scan));
    } catch (RedisException e) {
      return CompletableFuture.failedFuture(RedisErrors.unavailable(e).getCause());
    }
    return page.handle(
            (c, e) -> {
              if (e != null) {
                throw RedisErrors.unavailable(e);
              }
              return c;
            })
        .thenCompose(
            c -> {
              String next;
              if (!c.isFinished()) {
                next = cluster ? shardNow + ":" + c.getCursor() : c.getCursor();
              } else if (cluster && shardNow + 1 < redis.shards()) {
                next = (shardNow + 1) + ":0";
              } else {
                next = "0";
              }
              List<String> found = c.getKeys();
              if (found.isEmpty()) {
                return CompletableFuture.completedFuture(new SweepPage(next, List.of()));
              }
              List<byte[]> args = orphanArgs(liveNodes, now).subList(3, 4 + liveNodes.size());
              byte[][] argv = args.toArray(new byte[0][]);
              Map<Integer, List<String>> bySlot = new java.util.TreeMap<>();
              for (String key : found) {
                bySlot
                    .computeIfAbsent(cluster ? SlotHash.getSlot(key) : 0, k -> new ArrayList<>())
                    .add(key);
              }
              List<CompletableFuture<List<Released>>> calls = new ArrayList<>();
              for (List<String> keys : bySlot.values()) {
                calls.add(
                    sweep
                        .<List<Object>>run(
                            ScriptOutputType.MULTI, keys.toArray(new String[0]), argv)
                        .thenApply(out -> released(keys, out, keyPrefix))
                        .toCompletableFuture());
              }
              return CompletableFuture.allOf(calls.toArray(new CompletableFuture<?>[0]))
                  .thenApply(
                      v -> {
                        List<Released> released = new ArrayList<>();
                        for (CompletableFuture<List<Released>> call : calls) {
                          released.addAll(call.join());
                        }
                        return new SweepPage(next, released);
                      });
            });
  }

  /** The users the sweep script released, from its reply over {@code keys}. */
  private List<Released> released(List<String> keys, List<Object> out, String keyPrefix) {
    List<Released> released = new ArrayList<>();
    for (int i = 0; i + 1 < out.size(); i += 2) {
      String key = keys.get((int) (long) (Long) out.get(i) - 1);
      @SuppressWarnings("unchecked")
      List<Object> reply = (List<Object>) out.get(i + 1);
      String user = key.substring(keyPrefix.length(), key.length() - 1);
      released.add(new Released(user, toUpdate(reply)));
    }
    return released;
  }

  private static PresenceStatus status(String wire) {
    return PresenceStatus.fromWire(wire)
        .orElseThrow(() -> new IllegalStateException("bad status in Redis: " + wire));
  }

  /**
   * The user's hash, healed first when it names a device of a node whose lease is gone ({@link
   * ReadHealing}): then the orphans op runs, its changes go to be published, and the hash is read
   * again. A healing that fails, or that may not judge nodes now, leaves the read as it was.
   */
  private CompletionStage<Map<String, byte[]>> hash(String user) {
    ReadHealing h = healing;
    if (h == null) {
      return rawHash(user);
    }
    long sent = h.now();
    return rawHash(user).thenCompose(raw -> heal(h, user, raw, sent));
  }

  private CompletionStage<Map<String, byte[]>> heal(
      ReadHealing h, String user, Map<String, byte[]> raw, long sent) {
    List<String> owners = ownerNodes(raw);
    if (owners.isEmpty() || !h.suspects(owners)) {
      return CompletableFuture.completedFuture(raw);
    }
    return h.liveSince(sent)
        .thenCompose(
            judged -> {
              if (judged.isEmpty() || !h.anyGone(owners, judged.get())) {
                return CompletableFuture.completedFuture(raw);
              }
              return releaseOrphans(user, judged.get(), h.nowMillis())
                  .thenCompose(
                      u -> {
                        if (u != PresenceUpdate.UNCHANGED && u != PresenceUpdate.NOT_OWNER) {
                          h.publish(user, u);
                        }
                        return rawHash(user);
                      });
            })
        .exceptionally(e -> raw);
  }

  /** The nodes of the devices of {@code raw} that a session owns. */
  private static List<String> ownerNodes(Map<String, byte[]> raw) {
    List<String> nodes = new ArrayList<>(2);
    for (Map.Entry<String, byte[]> e : raw.entrySet()) {
      if (e.getKey().startsWith("d:")) {
        Map<String, String> f = flatObject(e.getValue(), null);
        String node = f.getOrDefault("n", "");
        if (!f.getOrDefault("o", "").isEmpty() && !node.isEmpty() && !nodes.contains(node)) {
          nodes.add(node);
        }
      }
    }
    return nodes;
  }

  @Override
  public void healOnRead(ReadHealing healing) {
    this.healing = healing;
  }

  private CompletionStage<Map<String, byte[]>> rawHash(String user) {
    try {
      return redis
          .commands()
          .async()
          .hgetall(redis.keys().presence(user))
          .handle(
              (m, e) -> {
                if (e != null) {
                  throw RedisErrors.unavailable(e);
                }
                return m;
              });
    } catch (RedisException e) {
      return CompletableFuture.failedFuture(RedisErrors.unavailable(e).getCause());
    }
  }

  @Override
  public CompletionStage<Map<String, DeviceState>> devices(String user) {
    return hash(user)
        .thenApply(
            h -> {
              Map<String, DeviceState> out = new HashMap<>();
              h.forEach(
                  (field, value) -> {
                    if (field.startsWith("d:")) {
                      out.put(field.substring(2), readDevice(value));
                    }
                  });
              return Map.copyOf(out);
            });
  }

  @Override
  public CompletionStage<UserPresence> presence(String user) {
    return hash(user).thenApply(RedisPresenceStateStore::userPresence);
  }

  private static UserPresence userPresence(Map<String, byte[]> h) {
    Map<Long, PresenceView> byApp = new HashMap<>();
    PresenceView all = PresenceView.OFFLINE;
    for (Map.Entry<String, byte[]> e : h.entrySet()) {
      if (e.getKey().startsWith("p:")) {
        long app = Long.parseLong(e.getKey().substring(2));
        PresenceView v = readView(e.getValue());
        if (app == PresenceChange.ALL_APPS) {
          all = v;
        } else {
          byApp.put(app, v);
        }
      }
    }
    return new UserPresence(all, byApp);
  }

  /**
   * The users' hashes in one script call ({@link #HASHES}) on one Redis; on a Redis Cluster one
   * call per primary ({@link SpreadCalls}), or, when a primary refuses one (a slot moved since the
   * topology was read), one per slot, and per user for a slot half moved. Each hash is then healed
   * as {@link #presence}'s is.
   */
  @Override
  public CompletionStage<List<UserPresence>> presence(List<String> users) {
    if (users.isEmpty()) {
      return CompletableFuture.completedFuture(List.of());
    }
    ReadHealing h = healing;
    long sent = h == null ? 0 : h.now();
    CompletionStage<List<Map<String, byte[]>>> raw =
        cluster
            ? SpreadCalls.split(
                users,
                u -> String.valueOf(redis.primaryOf(SlotHash.getSlot(key(u)))),
                this::onPrimary)
            : hashesTogether(users);
    return raw.thenCompose(
        hashes -> {
          List<CompletableFuture<UserPresence>> out = new ArrayList<>(hashes.size());
          for (int i = 0; i < hashes.size(); i++) {
            CompletionStage<Map<String, byte[]>> healed =
                h == null
                    ? CompletableFuture.completedFuture(hashes.get(i))
                    : heal(h, users.get(i), hashes.get(i), sent);
            out.add(healed.thenApply(RedisPresenceStateStore::userPresence).toCompletableFuture());
          }
          return CompletableFuture.allOf(out.toArray(new CompletableFuture<?>[0]))
              .thenApply(
                  v -> {
                    List<UserPresence> list = new ArrayList<>(out.size());
                    out.forEach(f -> list.add(f.join()));
                    return list;
                  });
        });
  }

  private CompletionStage<List<Map<String, byte[]>>> onPrimary(List<String> users) {
    return SpreadCalls.orBySlot(
        hashesTogether(users),
        () -> SpreadCalls.split(users, u -> SlotHash.getSlot(key(u)), this::inSlot));
  }

  private CompletionStage<List<Map<String, byte[]>>> inSlot(List<String> users) {
    return SpreadCalls.orByKey(
        hashesTogether(users), () -> SpreadCalls.split(users, u -> u, this::hashesTogether));
  }

  private CompletionStage<List<Map<String, byte[]>>> hashesTogether(List<String> users) {
    String[] keys = new String[users.size()];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = key(users.get(i));
    }
    return SpreadCalls.<List<Object>>run(hashes, redis, ScriptOutputType.MULTI, keys, new byte[0][])
        .thenApply(
            reply -> {
              List<Map<String, byte[]>> out = new ArrayList<>(reply.size());
              for (Object o : reply) {
                @SuppressWarnings("unchecked")
                List<Object> flat = (List<Object>) o;
                Map<String, byte[]> m = new HashMap<>(flat.size());
                for (int j = 0; j + 1 < flat.size(); j += 2) {
                  m.put(text(flat.get(j)), (byte[]) flat.get(j + 1));
                }
                out.add(m);
              }
              return out;
            });
  }

  /** One {@code SMEMBERS} of the node's index (written by the script; see presence.lua). */
  @Override
  public CompletionStage<List<OwnedDevice>> devicesOn(String node) {
    try {
      return redis
          .commands()
          .async()
          .smembers(nodeIndexKey(node))
          .handle(
              (members, e) -> {
                if (e != null) {
                  throw RedisErrors.unavailable(e);
                }
                List<OwnedDevice> out = new ArrayList<>(members.size());
                for (byte[] m : members) {
                  OwnedDevice d = parseMember(m);
                  if (d != null) {
                    out.add(d);
                  }
                }
                return List.copyOf(out);
              });
    } catch (RedisException e) {
      return CompletableFuture.failedFuture(RedisErrors.unavailable(e).getCause());
    }
  }

  @Override
  public CompletionStage<Void> forgetNode(String node) {
    try {
      return redis
          .commands()
          .async()
          .del(nodeIndexKey(node))
          .handle(
              (n, e) -> {
                if (e != null) {
                  throw RedisErrors.unavailable(e);
                }
                return null;
              });
    } catch (RedisException e) {
      return CompletableFuture.failedFuture(RedisErrors.unavailable(e).getCause());
    }
  }

  /** {@code <session>:<byte length of user>:<user><device>}, or null when malformed. */
  static OwnedDevice parseMember(byte[] m) {
    int c1 = indexOf(m, (byte) ':', 0);
    int c2 = c1 < 0 ? -1 : indexOf(m, (byte) ':', c1 + 1);
    if (c2 < 0) {
      return null;
    }
    try {
      UUID session = UUID.fromString(new String(m, 0, c1, StandardCharsets.UTF_8));
      int userLength = Integer.parseInt(new String(m, c1 + 1, c2 - c1 - 1, StandardCharsets.UTF_8));
      int userStart = c2 + 1;
      if (userLength < 0 || userStart + userLength > m.length) {
        return null;
      }
      String user = new String(m, userStart, userLength, StandardCharsets.UTF_8);
      String device =
          new String(
              m, userStart + userLength, m.length - userStart - userLength, StandardCharsets.UTF_8);
      return new OwnedDevice(user, device, session);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static int indexOf(byte[] b, byte x, int from) {
    for (int i = from; i < b.length; i++) {
      if (b[i] == x) {
        return i;
      }
    }
    return -1;
  }

  private static DeviceState readDevice(byte[] json) {
    Map<Long, DeviceState.Shown> earlier = new HashMap<>();
    Map<String, String> f = flatObject(json, earlier);
    String s = f.getOrDefault("s", "");
    String a = f.get("a");
    return new DeviceState(
        s.isEmpty() ? null : status(s),
        f.get("m"),
        uuid(f.getOrDefault("o", "")),
        f.getOrDefault("n", ""),
        millis(f.getOrDefault("u", "0")),
        a == null ? null : ApplicationIds.fromCsv(a),
        earlier);
  }

  private static long millis(String number) {
    return (long) Double.parseDouble(number);
  }

  private static PresenceView readView(byte[] json) {
    Map<String, String> f = flatObject(json, null);
    return new PresenceView(
        status(f.getOrDefault("s", "offline")),
        f.get("m"),
        Long.parseLong(f.getOrDefault("v", "0")));
  }

  /**
   * The scalar fields of a JSON object written by the script, as text; a device's {@code "e"} (what
   * it shows applications earlier) goes into {@code earlier} when that is not null.
   */
  private static Map<String, String> flatObject(byte[] json, Map<Long, DeviceState.Shown> earlier) {
    try (JsonParser p = Json.internal().createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IllegalStateException("not an object in Redis");
      }
      return fields(p, earlier);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The fields of a JSON object written by the script when every value is a string or a number, as
   * text; {@code null} when any is something else (an object, such as a device's {@code "e"}, an
   * array, {@code null}, a boolean), which {@link #flatObject} would skip.
   */
  static Map<String, String> plainObject(byte[] json) {
    try (JsonParser p = Json.internal().createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IllegalStateException("not an object in Redis");
      }
      Map<String, String> out = new HashMap<>();
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        if (v != JsonToken.VALUE_STRING && !v.isNumeric()) {
          return null;
        }
        out.put(name, p.getText());
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The scalar fields of the object whose start {@code p} has just read. */
  private static Map<String, String> fields(JsonParser p, Map<Long, DeviceState.Shown> earlier)
      throws IOException {
    Map<String, String> out = new HashMap<>();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken v = p.nextToken();
      if (v.isScalarValue() && v != JsonToken.VALUE_NULL) {
        out.put(name, p.getText());
      } else if (earlier != null && "e".equals(name) && v == JsonToken.START_OBJECT) {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          long app = Long.parseLong(p.currentName());
          if (p.nextToken() != JsonToken.START_OBJECT) {
            throw new IllegalStateException("bad earlier view in Redis");
          }
          Map<String, String> e = fields(p, null);
          earlier.put(
              app,
              new DeviceState.Shown(
                  status(e.getOrDefault("s", "")), e.get("m"), millis(e.getOrDefault("u", "0"))));
        }
      } else {
        p.skipChildren();
      }
    }
    return out;
  }

  @Override
  public void close() {
    // The Redis connection belongs to the RedisBackend, which the Store closes.
  }
}
