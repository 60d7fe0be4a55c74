package org.presence.store.queue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.presence.store.config.StoreConfig;
import org.presence.store.redis.RedisBackend;

/**
 * What {@code store.redis.ack-replicas} costs a notification batch: {@code calls} one-item {@link
 * RedisNotificationQueues#enqueueAll} calls made one after another (each user new, so the calls
 * spread over a cluster's primaries), with and without waiting for {@code replicas} replicas,
 * alternated {@code pairs} times; prints the median, p90 and p99 call time of each run, the first
 * tenth of each run left out. Not a test: run by hand against a Redis or Redis Cluster with
 * replicas (BENCHMARKS.md).
 *
 * <pre>
 * java -cp presence-store/target/test-classes:presence-store/target/classes:$(cat /tmp/cp.txt) \
 *   org.presence.store.queue.AckLatencyBench redis-cluster://127.0.0.1:7000 3000 1 3
 * </pre>
 */
public final class AckLatencyBench {
  private AckLatencyBench() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    int calls = Integer.parseInt(args[1]);
    int replicas = Integer.parseInt(args[2]);
    int pairs = Integer.parseInt(args[3]);
    for (int p = 0; p < pairs; p++) {
      for (int ack : new int[] {0, replicas}) {
        StoreConfig.RedisConfig config =
            StoreConfig.RedisConfig.redis(url).withKeyPrefix("ackbench-" + UUID.randomUUID() + ":");
        if (ack > 0) {
          config = config.withAckReplicas(ack, Duration.ofSeconds(1));
        }
        try (RedisBackend backend = RedisBackend.connect(config)) {
          RedisNotificationQueues queues = new RedisNotificationQueues(backend);
          long[] nanos = new long[calls];
          List<String> users = new ArrayList<>();
          for (int i = 0; i < calls; i++) {
            String user = "u" + i;
            users.add(user);
            Instant now = Instant.now();
            Notification n =
                new Notification(
                    UUID.randomUUID().toString().replace("-", ""),
                    7,
                    "puid-7",
                    "App 7",
                    "m" + i,
                    "https://app7.example/open",
                    now,
                    now.plusSeconds(600),
                    false);
            long t0 = System.nanoTime();
            queues
                .enqueueAll(List.of(new NotificationQueues.Entry(user, n)))
                .toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
            nanos[i] = System.nanoTime() - t0;
          }
          long[] kept = Arrays.copyOfRange(nanos, calls / 10, calls);
          Arrays.sort(kept);
          System.out.printf(
              "ack-replicas=%d: median %.3f ms, p90 %.3f ms, p99 %.3f ms (%d calls)%n",
              ack,
              kept[kept.length / 2] / 1e6,
              kept[(int) (kept.length * 0.9)] / 1e6,
              kept[(int) (kept.length * 0.99)] / 1e6,
              kept.length);
          for (String u : users) {
            queues.clear(u, 7).toCompletableFuture().get(10, TimeUnit.SECONDS);
          }
        }
      }
    }
  }
}
