package org.presence.store.queue;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;

/**
 * Not a test: what a node's queue re-read after a lost wake-up channel costs Redis (BENCHMARKS.md,
 * issue 13), the way {@code NotificationDelivery} did it before and does it now, alternated over
 * the same queues. USERS users, of whom one in EVERY has an item queued; "read all" reads each
 * user's queue ({@code pending}, 32 in flight), "check first" asks {@code withItems} 256 users at a
 * time, one question at a time, then reads those users' queues (32 in flight). Prints per round and
 * mode: wall time, Redis's CPU ({@code INFO cpu}), its calls and their time ({@code INFO
 * commandstats}, every command). Uses a fresh key prefix on one Redis that no other client uses
 * meanwhile, e.g.
 *
 * <pre>
 * javac -d /tmp/rrb -cp presence-gateway/target/presence.jar \
 *     presence-store/src/test/java/org/presence/store/queue/RereadBench.java
 * java -Xmx512m -cp /tmp/rrb:presence-gateway/target/presence.jar \
 *     org.presence.store.queue.RereadBench redis://127.0.0.1:6379 100000 50 4
 * </pre>
 */
public final class RereadBench {
  private static final int IN_FLIGHT = 32;
  private static final int CHECK_BATCH = 256;

  private RereadBench() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    int users = Integer.parseInt(args[1]);
    int every = Integer.parseInt(args[2]);
    int rounds = Integer.parseInt(args[3]);
    RedisBackend redis =
        RedisBackend.connect(
            StoreConfig.RedisConfig.redis(url).withKeyPrefix("rrb" + System.nanoTime() + ":"));
    RedisNotificationQueues queues = new RedisNotificationQueues(redis);
    List<String> all = new ArrayList<>(users);
    List<CompletableFuture<?>> stored = new ArrayList<>();
    Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    for (int i = 0; i < users; i++) {
      String user = "user" + i;
      all.add(user);
      if (i % every == 0) {
        stored.add(
            queues
                .enqueue(
                    user,
                    new Notification(
                        UUID.randomUUID().toString(),
                        7,
                        "puid-" + i,
                        "Bench",
                        "hello",
                        "https://bench.example/open",
                        now,
                        now.plusSeconds(3600),
                        false))
                .toCompletableFuture());
      }
    }
    CompletableFuture.allOf(stored.toArray(CompletableFuture[]::new)).get();
    System.out.printf("users=%d with_items=%d%n", users, stored.size());
    for (int r = 0; r < rounds; r++) {
      for (boolean check : new boolean[] {false, true}) {
        var stats = redis.shard(0).toCompletableFuture().get();
        stats.configResetstat().get();
        double cpu0 = redisCpu(redis);
        long t0 = System.nanoTime();
        int read = check ? checkFirst(queues, all) : readAll(queues, all);
        long wall = System.nanoTime() - t0;
        double cpu = redisCpu(redis) - cpu0;
        long calls = 0;
        long usec = 0;
        for (String line : stats.info("commandstats").get().split("\r?\n")) {
          if (line.startsWith("cmdstat_") && !line.startsWith("cmdstat_config:")) {
            String[] p = line.split("[:,=]");
            calls += Long.parseLong(p[2]);
            usec += Long.parseLong(p[4]);
          }
        }
        System.out.printf(
            "round=%d mode=%s queues_read=%d wall_ms=%.0f redis_cpu_ms=%.0f"
                + " redis_calls=%d redis_command_usec=%d%n",
            r, check ? "check-first" : "read-all", read, wall / 1e6, cpu * 1000, calls, usec);
      }
    }
    redis.close();
    System.exit(0);
  }

  /** Reads every user's queue, {@link #IN_FLIGHT} at a time; returns the reads. */
  private static int readAll(NotificationQueues queues, List<String> users) throws Exception {
    Semaphore slots = new Semaphore(IN_FLIGHT);
    List<CompletableFuture<?>> reads = new ArrayList<>(users.size());
    for (String user : users) {
      slots.acquire();
      reads.add(queues.pending(user).toCompletableFuture().whenComplete((v, e) -> slots.release()));
    }
    CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).get();
    return users.size();
  }

  /** Asks which users have items, then reads theirs; returns the reads. */
  private static int checkFirst(NotificationQueues queues, List<String> users) throws Exception {
    List<String> withItems = new ArrayList<>();
    for (int from = 0; from < users.size(); from += CHECK_BATCH) {
      Set<String> got =
          queues
              .withItems(users.subList(from, Math.min(users.size(), from + CHECK_BATCH)))
              .toCompletableFuture()
              .get();
      withItems.addAll(got);
    }
    return readAll(queues, withItems);
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
}
