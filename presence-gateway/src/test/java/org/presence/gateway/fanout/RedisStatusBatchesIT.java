package org.presence.gateway.fanout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.store.testing.Futures.join;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.lettuce.core.cluster.SlotHash;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.bus.LocalPresenceBus;
import org.presence.store.config.StoreConfig;
import org.presence.store.permission.Grant;
import org.presence.store.presence.PresenceChange;
import org.presence.store.presence.PresenceUpdate;
import org.presence.store.presence.RedisPresenceStateStore;
import org.presence.store.presence.RedisStatusBatches;
import org.presence.store.presence.StatusBatches;
import org.presence.store.presence.UserMessages;
import org.presence.store.redis.RedisBackend;
import org.presence.store.testing.Backends;
import org.presence.store.updates.AppUpdate;
import org.presence.store.updates.AppUpdateLog;
import org.presence.store.updates.RedisAppUpdateLog;

/**
 * The cluster's one-call status path (issue 13, section 1) on a real Redis: a batch of status
 * updates is decided (presence.lua's rules) and logged in one script call, with the same updates
 * the two-step path (state store, then {@link LoggedPresenceEvents}) logs. The store's {@link
 * RedisStatusBatches} runs the script; this gateway's fan-out ({@link LoggedPresenceEvents} as its
 * {@code StatusBatches.Fanout}) gives it the grants and, on a Redis Cluster, maps the changes to
 * them and publishes them.
 */
class RedisStatusBatchesIT {
  static final long APP_A = 7_001;
  private static final long APP_B = 7_002;

  RedisBackend redis;
  RedisPresenceStateStore state;
  RedisAppUpdateLog log;
  private AppUpdatePublisher publisher;
  private RedisStatusBatches batches;
  private final Map<String, List<Grant>> grants = new HashMap<>();
  private final List<AppUpdate> heardOnThisNode = new CopyOnWriteArrayList<>();

  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    Backends.redisUrl();
    return Backends.redis(keyPrefix);
  }

  @BeforeEach
  void open() {
    redis = RedisBackend.connect(redisConfig(Backends.uniquePrefix(getClass())));
    state = new RedisPresenceStateStore(redis);
    log = new RedisAppUpdateLog(redis, AppUpdateLog.RETENTION);
    publisher = new AppUpdatePublisher(log, new LocalPresenceBus());
    publisher.addListener((app, updates) -> heardOnThisNode.addAll(updates));
    batches = new RedisStatusBatches(redis, state, log, fanout());
  }

  /** This test's fan-out: its publisher, and the grants of {@link #grant}. */
  StatusBatches.Fanout fanout() {
    return new LoggedPresenceEvents(
        publisher, user -> CompletableFuture.completedFuture(grants.getOrDefault(user, List.of())));
  }

  @AfterEach
  void close() {
    // Null when set-up was skipped (no test Redis configured).
    if (redis != null) {
      redis.close();
    }
  }

  void grant(String user, long app, boolean enabled) {
    grants
        .computeIfAbsent(user, u -> new ArrayList<>())
        .add(new Grant(user + "@" + app, user, app, user, enabled, Instant.EPOCH, Instant.EPOCH));
  }

  /**
   * Calls of {@code command} Redis counted so far (INFO commandstats; scripts' commands too),
   * summed over every shard of a Redis Cluster.
   */
  private long calls(String command) {
    long n = 0;
    for (int i = 0; i < redis.shards(); i++) {
      String info = join(join(redis.shard(i)).info("commandstats"));
      for (String line : info.split("\r?\n")) {
        if (line.startsWith("cmdstat_" + command + ":calls=")) {
          n += Long.parseLong(line.substring(line.indexOf('=') + 1, line.indexOf(',')));
        }
      }
    }
    return n;
  }

  /**
   * Commands that are not the measured calls': these INFO calls, a replica's acks, the cluster
   * client's topology refreshes and connection set-up.
   */
  private static final java.util.Set<String> NOT_COUNTED =
      java.util.Set.of(
          "info", "replconf", "cluster", "ping", "client", "hello", "command", "readonly");

  /**
   * Every command Redis counted so far (INFO commandstats; scripts' commands too) by name, summed
   * over every shard of a Redis Cluster, but for {@link #NOT_COUNTED}.
   */
  private Map<String, Long> allCalls() {
    Map<String, Long> out = new java.util.TreeMap<>();
    for (int i = 0; i < redis.shards(); i++) {
      String info = join(join(redis.shard(i)).info("commandstats"));
      for (String line : info.split("\r?\n")) {
        if (line.startsWith("cmdstat_")) {
          String name = line.substring("cmdstat_".length(), line.indexOf(':'));
          if (NOT_COUNTED.contains(name)) {
            continue;
          }
          long n = Long.parseLong(line.substring(line.indexOf('=') + 1, line.indexOf(',')));
          out.merge(name, n, Long::sum);
        }
      }
    }
    return out;
  }

  /** The commands run between {@code before} and {@code after}, by name (none left out). */
  private static Map<String, Long> delta(Map<String, Long> before, Map<String, Long> after) {
    Map<String, Long> out = new java.util.TreeMap<>();
    after.forEach(
        (name, n) -> {
          long d = n - before.getOrDefault(name, 0L);
          if (d != 0) {
            out.put(name, d);
          }
        });
    return out;
  }

  /**
   * Most script calls for one status of each of {@code users} users made at once: on one Redis the
   * batches make far fewer calls than statuses.
   */
  long mostScriptCalls(int users) {
    return users / 4;
  }

  /** The key of {@code user}'s state hash. */
  String userKey(String user) {
    return redis.keys().presence(user);
  }

  /**
   * {@code user}'s hash as a map of comparable values: a JSON object's fields (its key order is the
   * encoder's), every other field as text; the write token {@code w} left out (each writer makes
   * its own).
   */
  private Map<String, Object> comparableHash(String user) {
    Map<String, byte[]> raw = join(redis.commands().async().hgetall(userKey(user)));
    Map<String, Object> out = new java.util.TreeMap<>();
    raw.forEach(
        (field, value) -> {
          if (field.equals("w")) {
            return;
          }
          String text = new String(value, java.nio.charset.StandardCharsets.UTF_8);
          if (field.startsWith("d:") || field.startsWith("p:")) {
            try (JsonParser p = org.presence.protocol.json.Json.documents().createParser(text)) {
              p.nextToken();
              out.put(field, jsonValue(p));
            } catch (java.io.IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          } else {
            out.put(field, text);
          }
        });
    return out;
  }

  /** The JSON value at {@code p}'s current token: objects as sorted maps, numbers as doubles. */
  private static Object jsonValue(JsonParser p) throws java.io.IOException {
    JsonToken t = p.currentToken();
    if (t == JsonToken.START_OBJECT) {
      Map<String, Object> m = new java.util.TreeMap<>();
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        p.nextToken();
        m.put(name, jsonValue(p));
      }
      return m;
    }
    if (t.isNumeric()) {
      return p.getDoubleValue();
    }
    return p.getText();
  }

  /**
   * What a node decides itself (issue 13, section 1: the node decides the updates of a user whose
   * devices all show every application, and the script only compares the hash's write token before
   * storing them) is what the script would have decided. The same random steps go to a user whose
   * updates two nodes may decide and to one whose updates only the script decides (nodes with
   * {@code store.redis.decide-on-node=false}): claims from either node (a write the other node's
   * copy of the hash does not know), statuses with and without a message, pushes without a session,
   * a session no longer the owner, statuses naming an application (a hash the nodes leave to the
   * script), new user messages, releases, two devices set in the same millisecond, and bursts that
   * make batches of several updates of the user. After each step both got the same reply, hold the
   * same hash but for its write token, and have the same updates in both applications' logs (the
   * node maps its decisions to the grants itself); and the nodes decided most updates.
   */
  @Test
  void whatANodeDecides_isWhatTheScriptWould() {
    StatusBatches.Fanout fanout = fanout();
    RedisStatusBatches[] byNode = {
      batches, new RedisStatusBatches(redis, state, log, fanout, true)
    };
    RedisStatusBatches[] byScript = {
      new RedisStatusBatches(redis, state, log, fanout, false),
      new RedisStatusBatches(redis, state, log, fanout, false)
    };
    String n = "decided-by-node";
    String s = "decided-by-script";
    for (long app : new long[] {APP_A, APP_B}) {
      grant(n, app, true);
      grant(s, app, true);
    }
    // What the applications' logs hold for each user (status, message, version), in order.
    Map<String, List<String>> seen = new HashMap<>();
    // And numbered (seq first): what the logs hold, and what this node's listeners heard.
    Map<String, List<String>> numbered = new HashMap<>();
    Map<String, List<String>> heard = new HashMap<>();
    int heardUpTo = heardOnThisNode.size();
    long[] since = {0, 0};
    long seed = System.nanoTime();
    java.util.Random random = new java.util.Random(seed);
    String[] devices = {"phone", "laptop", "tablet"};
    PresenceStatus[] statuses = PresenceStatus.values();
    String[] messages = {null, "", "at lunch", "🎉 party", "\"quoted\" \\ back"};
    UserMessages[] own = {
      null, UserMessages.NONE, new UserMessages("working", "gone"), new UserMessages(null, "later")
    };
    Map<String, UUID> owners = new HashMap<>();
    UserMessages current = UserMessages.NONE;
    long now = 1_000;
    long hgetBefore = calls("hget");
    int updates = 0;
    int node = 0;
    for (int step = 0; step < 400; step++) {
      String at = "seed " + seed + ", step " + step;
      now += random.nextInt(3);
      // A user's devices mostly stay on one node; now and then a step comes from the other.
      if (random.nextInt(6) == 0) {
        node = 1 - node;
      }
      String device = devices[random.nextInt(devices.length)];
      int op = random.nextInt(24);
      if (op == 0 || !owners.containsKey(device)) {
        UUID session = UUID.randomUUID();
        owners.put(device, session);
        assertThat(join(state.claim(n, device, session, "node" + node, 10, now)))
            .as(at)
            .isEqualTo(join(state.claim(s, device, session, "node" + node, 10, now)));
      } else if (op == 1) {
        UUID session = owners.remove(device);
        assertThat(join(state.release(n, device, session, now)))
            .as(at)
            .isEqualTo(join(state.release(s, device, session, now)));
      } else {
        int burst = op == 2 ? 4 : 1;
        List<CompletableFuture<PresenceUpdate>> a = new ArrayList<>();
        List<CompletableFuture<PresenceUpdate>> b = new ArrayList<>();
        for (int k = 0; k < burst; k++) {
          int kind = random.nextInt(12);
          UUID session = kind == 0 ? UUID.randomUUID() : kind == 1 ? null : owners.get(device);
          PresenceStatus status = statuses[random.nextInt(statuses.length)];
          String message = messages[random.nextInt(messages.length)];
          ApplicationIds apps = random.nextInt(10) == 0 ? ApplicationIds.of(APP_A) : null;
          if (random.nextInt(15) == 0) {
            current = own[random.nextInt(own.length)];
          }
          UserMessages m = random.nextInt(4) == 0 ? null : current;
          a.add(
              byNode[node]
                  .update(n, device, session, status, message, apps, m, now + k)
                  .toCompletableFuture());
          b.add(
              byScript[node]
                  .update(s, device, session, status, message, apps, m, now + k)
                  .toCompletableFuture());
          updates++;
        }
        for (int k = 0; k < burst; k++) {
          assertThat(join(a.get(k))).as(at + ", update " + k).isEqualTo(join(b.get(k)));
        }
        now += burst;
      }
      assertThat(comparableHash(n)).as(at).isEqualTo(comparableHash(s));
      for (; heardUpTo < heardOnThisNode.size(); heardUpTo++) {
        AppUpdate u = heardOnThisNode.get(heardUpTo);
        heard.computeIfAbsent(u.puid(), k -> new ArrayList<>()).add(u.seq() + " " + described(u));
      }
      // The node mapped its decisions to the grants as the script maps its own.
      for (int i = 0; i < 2; i++) {
        long app = i == 0 ? APP_A : APP_B;
        for (AppUpdate u : join(log.readSince(app, since[i], 1000)).updates()) {
          since[i] = u.seq();
          seen.computeIfAbsent(u.puid(), k -> new ArrayList<>()).add(described(u));
          numbered
              .computeIfAbsent(u.puid(), k -> new ArrayList<>())
              .add(u.seq() + " " + described(u));
        }
        // This node's listeners heard what was logged, numbered as logged (the node's entries
        // named by position in the script's reply, the script's own by their values).
        for (String user : new String[] {n, s}) {
          assertThat(heard.getOrDefault(user + "@" + app, List.of()))
              .as(at + ", heard here, " + user + ", application " + app)
              .isEqualTo(numbered.getOrDefault(user + "@" + app, List.of()));
        }
        // The grants' PUIDs are user@application (grant).
        assertThat(seen.getOrDefault(n + "@" + app, List.of()))
            .as(at + ", application " + app)
            .isEqualTo(seen.getOrDefault(s + "@" + app, List.of()));
      }
    }
    assertThat(seen.get(n + "@" + APP_B)).as("seed " + seed).hasSizeGreaterThan(updates / 4);
    // Many updates were decided by a node: each compared the write token once.
    assertThat(calls("hget") - hgetBefore).as("seed " + seed).isGreaterThan(updates / 4);
  }

  private static String described(AppUpdate u) {
    return u.status().wireName() + " " + u.message() + " " + u.version();
  }

  /**
   * Two devices set to the same status in the same millisecond: the script shows the one whose id
   * sorts first; a node deciding the tie by its own order would show the other half the time, so it
   * leaves ties to the script. Eight pairs of device ids, so that a map's order and the ids' order
   * disagree for some of them.
   */
  @Test
  void aTieOfTwoDevices_isBrokenAsTheScriptBreaksIt() {
    StatusBatches.Fanout fanout = fanout();
    RedisStatusBatches byScript = new RedisStatusBatches(redis, state, log, fanout, false);
    for (int i = 0; i < 8; i++) {
      String n = "tie-node-" + i;
      String s = "tie-script-" + i;
      String[] devices = {"dev-" + (char) ('a' + i), "dev-" + (char) ('z' - i)};
      Map<String, UUID> sessions = new HashMap<>();
      for (String d : devices) {
        UUID session = UUID.randomUUID();
        sessions.put(d, session);
        join(state.claim(n, d, session, "n1", 10, 1));
        join(state.claim(s, d, session, "n1", 10, 1));
      }
      // Each user's hash read once (the node decides from then on), then the tie, both orders.
      for (long now : new long[] {10, 20}) {
        for (String d : now == 10 ? devices : new String[] {devices[1], devices[0]}) {
          PresenceUpdate a =
              join(batches.update(n, d, sessions.get(d), PresenceStatus.AWAY, d, null, null, now));
          PresenceUpdate b =
              join(byScript.update(s, d, sessions.get(d), PresenceStatus.AWAY, d, null, null, now));
          assertThat(a).as("pair %d at %d, %s", i, now, d).isEqualTo(b);
        }
        assertThat(comparableHash(n)).as("pair %d at %d", i, now).isEqualTo(comparableHash(s));
      }
    }
  }

  List<AppUpdate> logged(long app) {
    return join(log.readSince(app, 0, 1000)).updates();
  }

  @Test
  void aBatchOfStatuses_isOneScriptCall_thatLogsEachChangeOnceForEveryGrant() {
    int users = 60;
    List<UUID> sessions = new ArrayList<>();
    for (int i = 0; i < users; i++) {
      grant("u" + i, APP_A, true);
      grant("u" + i, APP_B, true);
      UUID s = UUID.randomUUID();
      sessions.add(s);
      join(state.claim("u" + i, "d", s, "n1", 10, 1));
    }
    long scriptsBefore = calls("evalsha") + calls("eval");
    List<CompletableFuture<PresenceUpdate>> results = new ArrayList<>();
    for (int i = 0; i < users; i++) {
      results.add(
          batches
              .update("u" + i, "d", sessions.get(i), PresenceStatus.ONLINE, null, null, null, 2)
              .toCompletableFuture());
    }
    for (CompletableFuture<PresenceUpdate> r : results) {
      PresenceUpdate u = join(r);
      assertThat(u.applied()).isTrue();
      assertThat(u.changes())
          .extracting(PresenceChange::status)
          .containsExactly(PresenceStatus.ONLINE);
    }
    // The calls made while two are running go together: far fewer script calls than statuses
    // (one per status before, plus the log's).
    long scripts = calls("evalsha") + calls("eval") - scriptsBefore;
    assertThat(scripts).isLessThan(mostScriptCalls(users));
    for (long app : new long[] {APP_A, APP_B}) {
      List<AppUpdate> updates = logged(app);
      assertThat(updates).hasSize(users);
      assertThat(updates).extracting(AppUpdate::puid).doesNotHaveDuplicates();
      assertThat(updates).allMatch(u -> u.status() == PresenceStatus.ONLINE && u.version() > 0);
      for (int i = 1; i < updates.size(); i++) {
        assertThat(updates.get(i).seq()).isEqualTo(updates.get(i - 1).seq() + 1);
      }
    }
    // This node's listeners hear every numbered update once, as the log has them.
    assertThat(heardOnThisNode).hasSize(2 * users);
    assertThat(join(state.presence("u7")).allApps().status()).isEqualTo(PresenceStatus.ONLINE);
  }

  @Test
  void changesReachOnlyTheGrantsThatSeeThem_asThroughLoggedPresenceEvents() {
    grant("v", APP_A, true);
    grant("v", APP_B, true);
    grant("paused", APP_A, false);
    UUID s = UUID.randomUUID();
    join(state.claim("v", "d", s, "n1", 10, 1));
    // A status for application A only: B sees nothing of the device.
    PresenceUpdate u =
        join(
            batches.update(
                "v", "d", s, PresenceStatus.AWAY, "brb", ApplicationIds.fromCsv("7001"), null, 2));
    assertThat(u.changes()).extracting(PresenceChange::appId).containsExactly(APP_A);
    assertThat(logged(APP_A))
        .extracting(AppUpdate::puid, AppUpdate::status, AppUpdate::message)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("v@7001", PresenceStatus.AWAY, "brb"));
    assertThat(logged(APP_B)).isEmpty();
    // For every application, with a message that needs escaping in JSON.
    join(batches.update("v", "d", s, PresenceStatus.ONLINE, "a \"b\"/\u00e9", null, null, 3));
    assertThat(logged(APP_A))
        .extracting(AppUpdate::message)
        .containsExactly("brb", "a \"b\"/\u00e9");
    assertThat(logged(APP_B))
        .extracting(AppUpdate::puid, AppUpdate::status)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("v@7002", PresenceStatus.ONLINE));
    // A paused grant gets nothing; nor does a change that repeats what an audience saw.
    UUID p = UUID.randomUUID();
    join(state.claim("paused", "d", p, "n1", 10, 1));
    join(batches.update("paused", "d", p, PresenceStatus.ONLINE, null, null, null, 4));
    join(batches.update("v", "d", s, PresenceStatus.ONLINE, "a \"b\"/\u00e9", null, null, 5));
    assertThat(logged(APP_A)).hasSize(2);
    assertThat(logged(APP_B)).hasSize(1);
  }

  /**
   * The updates of a batch go to the script packed into one argument: user-controlled text (device
   * ids, messages, the user's own messages) that holds separators, NUL, newlines, 4-byte UTF-8 or
   * is longer than 64 KiB reaches the state and the log unchanged, each value with its own update.
   */
  @Test
  void userControlledText_ofABatch_reachesStateAndLogUnchanged() {
    List<String> messages =
        List.of(
            "a,b:c|d\u0000e\nf\r\n",
            "\ud83d\ude00 \u00e9\u20ac\\\"",
            "x".repeat(31),
            "y".repeat(300),
            "\u20ac".repeat(22_000),
            "-");
    int users = messages.size();
    List<UUID> sessions = new ArrayList<>();
    for (int i = 0; i < users; i++) {
      grant("t" + i, APP_A, true);
      UUID s = UUID.randomUUID();
      sessions.add(s);
      join(state.claim("t" + i, "dev,\n:" + i, s, "n1", 10, 1));
    }
    List<CompletableFuture<PresenceUpdate>> results = new ArrayList<>();
    for (int i = 0; i < users; i++) {
      results.add(
          batches
              .update(
                  "t" + i,
                  "dev,\n:" + i,
                  sessions.get(i),
                  PresenceStatus.AWAY,
                  messages.get(i),
                  null,
                  null,
                  2)
              .toCompletableFuture());
    }
    // The user's own away message shows when the status brings none.
    UserMessages own = new UserMessages("on\u0000,", "away\n\ud83d\ude00".repeat(20));
    grant("own", APP_A, true);
    UUID o = UUID.randomUUID();
    join(state.claim("own", "d", o, "n1", 10, 1));
    results.add(
        batches
            .update("own", "d", o, PresenceStatus.AWAY, null, null, own, 2)
            .toCompletableFuture());
    for (int i = 0; i < users; i++) {
      assertThat(join(results.get(i)).changes())
          .extracting(PresenceChange::message)
          .containsExactly(messages.get(i));
      assertThat(join(state.presence("t" + i)).allApps().message()).isEqualTo(messages.get(i));
    }
    assertThat(join(results.get(users)).changes())
        .extracting(PresenceChange::message)
        .containsExactly(own.away());
    List<AppUpdate> updates = logged(APP_A);
    assertThat(updates).hasSize(users + 1);
    for (AppUpdate u : updates) {
      String user = u.puid().substring(0, u.puid().indexOf('@'));
      assertThat(u.message())
          .isEqualTo(
              user.equals("own") ? own.away() : messages.get(Integer.parseInt(user.substring(1))));
    }
  }

  /**
   * The commands of one lone status change on a quiet application, by name, as Redis counted them
   * (INFO commandstats, the commands run inside scripts included): on one Redis one script call; on
   * a Redis Cluster a state call and a log call. See {@link #aLoneChange_onAQuietApplication}.
   *
   * <p>The first change is also the user's first on this node: the script decides it (reading the
   * whole hash, and Redis's clock for the hash's new write token) and returns the hash after it (a
   * second {@code HGETALL}). The node decides the later ones itself: the script only compares the
   * write token ({@code HGET}) before it stores them.
   */
  Map<String, Long> expectedLoneChange(boolean firstOfPeriod) {
    Map<String, Long> m = new java.util.TreeMap<>();
    m.putAll(
        Map.of(
            "evalsha", 1L,
            "hget", 1L,
            "hset", 2L,
            "time", 1L,
            "hmget", 1L,
            "xadd", 1L,
            "publish", 1L));
    if (firstOfPeriod) {
      m.remove("hget");
      m.put("hgetall", 2L);
      m.put("time", 2L);
      // A new application: no counter in its hash yet, so the old format's counter key and
      // current guard generation are looked for (the migration, once); a PUID the current guard
      // generation does not hold yet: the previous one is read too; a new period of the
      // application: its index entry, the check of its oldest entry, the expiry renewals of
      // stream and index.
      m.put("get", 1L);
      m.put("exists", 1L);
      m.put("hmget", 2L);
      m.put("zadd", 1L);
      m.put("zrange", 1L);
      m.put("pexpire", 2L);
    }
    return m;
  }

  /**
   * The commands of a status that changes nothing (the user's state only), decided by the node: the
   * write token compared, the device's entry stored.
   */
  Map<String, Long> expectedNoChange() {
    return Map.of("evalsha", 1L, "hget", 1L, "hset", 1L);
  }

  /**
   * Redis's clock in seconds, read outside a counted window: a measurement that spans a new minute
   * (the log's housekeeping period for its hour of retention) is made again.
   */
  private long redisMinute() {
    byte[] seconds = join(join(redis.shard(0)).time()).get(0);
    return Long.parseLong(new String(seconds, java.nio.charset.StandardCharsets.UTF_8)) / 60;
  }

  /**
   * A lone status change at a low rate (issue 13, section 1: at most 8 commands per change at one
   * change a second per application; see BENCHMARKS.md), counted exactly by Redis itself: the first
   * change of a quiet application, the next one in the same minute, and a status that changes
   * nothing. The scripts are loaded first, on the shards the measured calls use, by a user and an
   * application of the same slots (a fresh Redis answers NOSCRIPT once per script).
   */
  @Test
  void aLoneChange_onAQuietApplication() {
    String lone = "lone";
    String warm = "warm0";
    for (int i = 1; SlotHash.getSlot(userKey(warm)) != SlotHash.getSlot(userKey(lone)); i++) {
      warm = "warm" + i;
    }
    long warmApp = APP_B;
    while (log.slotGroup(warmApp) != log.slotGroup(APP_A) || warmApp == APP_A) {
      warmApp++;
    }
    grant(warm, warmApp, true);
    UUID w = UUID.randomUUID();
    join(state.claim(warm, "d", w, "n1", 10, 1));
    join(batches.update(warm, "d", w, PresenceStatus.ONLINE, null, null, null, 2));
    grant(lone, APP_A, true);
    UUID s = UUID.randomUUID();
    join(state.claim(lone, "d", s, "n1", 10, 1));

    Map<String, Long> before = allCalls();
    PresenceUpdate u =
        join(batches.update(lone, "d", s, PresenceStatus.ONLINE, null, null, null, 3));
    Map<String, Long> first = delta(before, allCalls());
    assertThat(u.changes())
        .extracting(PresenceChange::status)
        .containsExactly(PresenceStatus.ONLINE);
    assertThat(first)
        .as("the first change of a quiet application")
        .isEqualTo(expectedLoneChange(true));

    PresenceStatus[] next = {PresenceStatus.AWAY, PresenceStatus.ONLINE, PresenceStatus.AWAY};
    Map<String, Long> change = Map.of();
    PresenceStatus last = PresenceStatus.ONLINE;
    for (int i = 0; i < next.length; i++) {
      long minute = redisMinute();
      before = allCalls();
      PresenceUpdate c = join(batches.update(lone, "d", s, next[i], null, null, null, 4 + i));
      change = delta(before, allCalls());
      assertThat(c.changes()).extracting(PresenceChange::status).containsExactly(next[i]);
      last = next[i];
      if (redisMinute() == minute) {
        break;
      }
    }
    assertThat(change).as("a lone change").isEqualTo(expectedLoneChange(false));

    before = allCalls();
    PresenceUpdate same = join(batches.update(lone, "d", s, last, null, null, null, 10));
    Map<String, Long> none = delta(before, allCalls());
    assertThat(same.changes()).isEmpty();
    assertThat(none).as("a status that changes nothing").isEqualTo(expectedNoChange());
  }

  /**
   * The one-call path and the log's own append (the two-call path, and on a Redis Cluster the split
   * path) guard a PUID with the same keys: a change this path logged drops an older change of the
   * same PUID that the other path logs late. (The one-call path used to keep its guards under keys
   * of its own on one Redis, so the older change was logged after the newer one.)
   */
  @Test
  void aChangeLoggedHere_dropsAnOlderOneLoggedByTheLogsOwnAppend() {
    grant("g", APP_A, true);
    UUID s = UUID.randomUUID();
    join(state.claim("g", "d", s, "n1", 10, 1));
    join(batches.update("g", "d", s, PresenceStatus.ONLINE, null, null, null, 2));
    List<AppUpdate> logged = logged(APP_A);
    assertThat(logged).hasSize(1);
    AppUpdate online = logged.get(0);
    assertThat(online.version()).isPositive();
    List<AppUpdate> late =
        join(
            log.append(
                APP_A,
                List.of(
                    new AppUpdate.New(
                        online.puid(),
                        PresenceStatus.AWAY,
                        "",
                        online.version() - 1,
                        AppUpdate.Kind.CHANGE))));
    assertThat(late).isEmpty();
    assertThat(logged(APP_A)).extracting(AppUpdate::status).containsExactly(PresenceStatus.ONLINE);
  }

  @Test
  void notTheOwner_isRefused_andLogsNothing() {
    grant("w", APP_A, true);
    UUID s = UUID.randomUUID();
    join(state.claim("w", "d", s, "n1", 10, 1));
    PresenceUpdate u =
        join(
            batches.update(
                "w", "d", UUID.randomUUID(), PresenceStatus.ONLINE, null, null, null, 2));
    assertThat(u.applied()).isFalse();
    assertThat(logged(APP_A)).isEmpty();
  }

  /**
   * Rounds of 40 updates of one user made at once, each round on a Redis that has just forgotten
   * the script (NOSCRIPT, then EVAL: more round trips, more chances to cross). A call made from a
   * Lettuce I/O thread (a finished call's callback) used to overtake one made just before from the
   * caller's thread, which Netty had only queued: the log then said a user's away after their
   * unavailable, as fresh CI runs saw.
   */
  @Test
  void oneUsersUpdatesMadeAtOnce_areDecidedInOrder_andTheLogEndsOnTheLast() {
    PresenceStatus[] cycle = {
      PresenceStatus.ONLINE, PresenceStatus.AWAY, PresenceStatus.UNAVAILABLE
    };
    int rounds = 15;
    int each = 40;
    for (int round = 0; round < rounds; round++) {
      String user = "x" + round;
      grant(user, APP_A, true);
      UUID s = UUID.randomUUID();
      join(state.claim(user, "d", s, "n1", 10, 1));
      for (int i = 0; i < redis.shards(); i++) {
        join(join(redis.shard(i)).scriptFlush());
      }
      List<CompletableFuture<PresenceUpdate>> results = new ArrayList<>();
      for (int i = 0; i < each; i++) {
        results.add(
            batches
                .update(user, "d", s, cycle[i % 3], null, null, null, 10 + i)
                .toCompletableFuture());
      }
      results.forEach(org.presence.store.testing.Futures::join);
      assertThat(join(state.presence(user)).allApps().status())
          .as("round %d: the user's last status", round)
          .isEqualTo(cycle[(each - 1) % 3]);
    }
    List<AppUpdate> updates = logged(APP_A);
    assertThat(updates).hasSize(rounds * each);
    for (int i = 0; i < updates.size(); i++) {
      assertThat(updates.get(i).status())
          .as("update %d of the log (round %d)", i, i / each)
          .isEqualTo(cycle[i % each % 3]);
    }
  }
}
