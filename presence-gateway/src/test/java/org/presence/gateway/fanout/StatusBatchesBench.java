package org.presence.gateway.fanout;

import java.lang.management.ManagementFactory;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.bus.LocalPresenceBus;
import org.presence.store.config.StoreConfig;
import org.presence.store.permission.Grant;
import org.presence.store.presence.PresenceUpdate;
import org.presence.store.presence.RedisPresenceStateStore;
import org.presence.store.presence.RedisStatusBatches;
import org.presence.store.redis.RedisBackend;
import org.presence.store.updates.AppUpdateLog;
import org.presence.store.updates.RedisAppUpdateLog;

/**
 * Not a test: a fixed workload of batched status changes through {@link RedisStatusBatches} on one
 * Redis, for comparing the batch script's cost before and after a change (BENCHMARKS.md, issue 13
 * section 1). USERS users with APPS grants each (APPS applications, default 10; the two-node fanout
 * of {@code bin/cluster-bench} has one per user) and a claimed device; each round sends PER_ROUND
 * changes at once (each a real change: each visit of a user alternates online and away, and each
 * carries a message, the send time, as the load harness's devices do) and waits for them; the first
 * half of the rounds warm up, then Redis's statistics are reset and the rest are measured. Prints
 * per change: this process's allocated bytes and CPU time (the node's side: the arguments'
 * encoding, the reply), Redis's CPU time ({@code INFO cpu}) and {@code EVALSHA}'s time ({@code INFO
 * commandstats}), and changes per script call. Uses a fresh key prefix; the Redis is not shared
 * with other clients while it runs. {@code -DdecideOnNode=false} has Redis's script decide every
 * update ({@code store.redis.decide-on-node}); the default lets the node decide what it can. Run it
 * against the shaded jar of any version from the one that added that setting on (the classes it
 * uses are public or in this package; for an earlier version, drop the constructor's last
 * argument), e.g.
 *
 * <pre>
 * javac -d /tmp/sbb -cp presence-gateway/target/presence.jar \
 *     presence-gateway/src/test/java/org/presence/gateway/fanout/StatusBatchesBench.java
 * java -Xmx512m -cp /tmp/sbb:presence-gateway/target/presence.jar \
 *     org.presence.gateway.fanout.StatusBatchesBench redis://127.0.0.1:6379 1900 95 1200 [APPS]
 * </pre>
 */
public final class StatusBatchesBench {
  private StatusBatchesBench() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    int users = Integer.parseInt(args[1]);
    int perRound = Integer.parseInt(args[2]);
    int rounds = Integer.parseInt(args[3]);
    int apps = args.length > 4 ? Integer.parseInt(args[4]) : 10;
    RedisBackend redis =
        RedisBackend.connect(
            StoreConfig.RedisConfig.redis(url).withKeyPrefix("sbb" + System.nanoTime() + ":"));
    RedisPresenceStateStore state = new RedisPresenceStateStore(redis);
    RedisAppUpdateLog log = new RedisAppUpdateLog(redis, AppUpdateLog.RETENTION);
    AppUpdatePublisher publisher = new AppUpdatePublisher(log, new LocalPresenceBus());
    Map<String, List<Grant>> grants = new HashMap<>();
    for (int i = 0; i < users; i++) {
      List<Grant> g = new ArrayList<>();
      for (int k = 0; k < apps; k++) {
        String puid = "p" + Integer.toHexString(i * 31 + k) + "x".repeat(20);
        g.add(
            new Grant(puid, "user" + i, 9000 + k, "user" + i, true, Instant.EPOCH, Instant.EPOCH));
      }
      grants.put("user" + i, g);
    }
    RedisStatusBatches batches =
        new RedisStatusBatches(
            redis,
            state,
            log,
            new LoggedPresenceEvents(
                publisher, u -> CompletableFuture.completedFuture(grants.get(u))),
            Boolean.parseBoolean(System.getProperty("decideOnNode", "true")));
    UUID[] sessions = new UUID[users];
    for (int i = 0; i < users; i++) {
      sessions[i] = UUID.randomUUID();
      state
          .claim("user" + i, "device-" + i, sessions[i], "node-a", 10, 1)
          .toCompletableFuture()
          .get();
    }
    var os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    long cpu0 = 0;
    long alloc0 = 0;
    double redisCpu0 = 0;
    int changes = 0;
    int next = 0;
    for (int phase = 0; phase < 2; phase++) {
      if (phase == 1) {
        redis.shard(0).toCompletableFuture().get().configResetstat().get();
        redisCpu0 = redisCpu(redis);
        cpu0 = os.getProcessCpuTime();
        alloc0 = allocated();
        changes = 0;
      }
      int n = phase == 0 ? Math.max(1, rounds / 2) : rounds;
      for (int r = 0; r < n; r++) {
        List<CompletableFuture<PresenceUpdate>> calls = new ArrayList<>(perRound);
        long t = System.currentTimeMillis();
        for (int j = 0; j < perRound; j++) {
          // Each visit of a user changes its status: online and away alternate per user, whatever
          // the number of users per round.
          PresenceStatus s = (next / users) % 2 == 0 ? PresenceStatus.ONLINE : PresenceStatus.AWAY;
          int i = next++ % users;
          // As the load harness's devices send: a message on every status (the send time).
          String message = "lt:" + System.nanoTime() / 1000;
          calls.add(
              batches
                  .update("user" + i, "device-" + i, sessions[i], s, message, null, null, t)
                  .toCompletableFuture());
        }
        for (CompletableFuture<PresenceUpdate> c : calls) {
          c.get();
        }
        changes += perRound;
      }
    }
    long cpu = os.getProcessCpuTime() - cpu0;
    long alloc = allocated() - alloc0;
    double redisCpu = redisCpu(redis) - redisCpu0;
    long calls = 0;
    long usec = 0;
    String info = redis.shard(0).toCompletableFuture().get().info("commandstats").get();
    for (String line : info.split("\r?\n")) {
      if (line.startsWith("cmdstat_evalsha:") || line.startsWith("cmdstat_eval:")) {
        String[] p = line.split("[:,=]");
        calls += Long.parseLong(p[2]);
        usec += Long.parseLong(p[4]);
      }
    }
    System.out.printf(
        "changes=%d script_calls=%d changes_per_call=%.1f%n"
            + "node_alloc_bytes_per_change=%.0f node_cpu_usec_per_change=%.1f%n"
            + "redis_cpu_usec_per_change=%.1f evalsha_usec_per_change=%.1f%n",
        changes,
        calls,
        changes / (double) calls,
        alloc / (double) changes,
        cpu / 1000.0 / changes,
        redisCpu * 1e6 / changes,
        usec / (double) changes);
    redis.close();
    System.exit(0);
  }

  /**
   * Redis's CPU seconds so far. Each bench keeps its own copy (RereadBench, StatusBatchesBench): a
   * bench compiles alone against a release's shaded jar, which holds no test helpers.
   */
  private static double redisCpu(RedisBackend redis) throws Exception {
    String info = redis.shard(0).toCompletableFuture().get().info("cpu").get();
    double c = 0;
    for (String line : info.split("\r?\n")) {
      if (line.startsWith("used_cpu_sys:") || line.startsWith("used_cpu_user:")) {
        c += Double.parseDouble(line.substring(line.indexOf(':') + 1));
      }
    }
    return c;
  }

  /** Bytes allocated by every live thread so far. */
  private static long allocated() {
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long sum = 0;
    for (long b : threads.getThreadAllocatedBytes(threads.getAllThreadIds())) {
      if (b > 0) {
        sum += b;
      }
    }
    return sum;
  }
}
