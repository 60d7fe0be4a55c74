package org.presence.store.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.presence.store.config.StoreConfig;
import org.presence.store.testing.Backends;

/** {@link RedisNotificationQueuesIT}, every test of it, against a Redis Cluster. */
class RedisNotificationQueuesClusterIT extends RedisNotificationQueuesIT {
  /**
   * A batch is one call per primary, its keys spread over several slots. When the client's view of
   * the topology is wrong (a slot moved since), the primary refuses such a call before writing
   * anything, and the batch goes as one call per slot: here every slot is taken for one primary's,
   * so each call over keys of another primary is refused, and every item must still be stored
   * exactly once and removed.
   */
  @Test
  void aCallThePrimaryRefuses_goesAgainAsOneCallPerSlot_storingEachItemOnce() {
    RedisNotificationQueues wrong = new RedisNotificationQueues(backend, slot -> "one primary");
    String run = "spread-" + System.nanoTime() + "-";
    List<NotificationQueues.Entry> batch = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      batch.add(new NotificationQueues.Entry(run + i, note(41, "m" + i)));
      batch.add(new NotificationQueues.Entry(run + i, note(42, "n" + i)));
    }
    List<NotificationQueues.Enqueued> stored = await(wrong.enqueueAll(batch));
    assertThat(stored).hasSize(60).allSatisfy(e -> assertThat(e.queueSize()).isEqualTo(1));
    Map<String, Map<Long, List<String>>> ids = new HashMap<>();
    for (int i = 0; i < 30; i++) {
      List<Notification> pending = await(wrong.pending(run + i));
      assertThat(pending)
          .extracting(Notification::message)
          .containsExactlyInAnyOrder("m" + i, "n" + i);
      Map<Long, List<String>> byApp = new HashMap<>();
      for (Notification n : pending) {
        byApp.computeIfAbsent(n.appId(), a -> new ArrayList<>()).add(n.id());
      }
      ids.put(run + i, byApp);
    }
    Map<String, List<Notification>> removed = await(wrong.removeAll(ids));
    assertThat(removed).hasSize(30).allSatisfy((u, items) -> assertThat(items).hasSize(2));
    for (int i = 0; i < 30; i++) {
      assertThat(await(wrong.pending(run + i))).isEmpty();
    }
  }

  @BeforeAll
  static void requireCluster() {
    Backends.redisClusterUrl();
  }

  @Override
  StoreConfig.RedisConfig redisConfig(String keyPrefix) {
    return Backends.redisCluster(keyPrefix);
  }
}
