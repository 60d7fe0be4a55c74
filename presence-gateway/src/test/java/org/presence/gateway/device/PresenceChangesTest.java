package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.store.testing.Futures.join;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.presence.PresenceChange;
import org.presence.store.presence.PresenceUpdate;

/** Published changes: counted, a failed publication counted and never failing the stage. */
class PresenceChangesTest {
  private final GatewayMetrics metrics = GatewayMetrics.create();
  private final List<String> published = new CopyOnWriteArrayList<>();
  private final AtomicBoolean down = new AtomicBoolean();

  private final PresenceChanges changes =
      new PresenceChanges(
          (user, update, now) -> {
            if (down.get()) {
              return CompletableFuture.failedFuture(new IllegalStateException("bus down"));
            }
            published.add(user + ":" + update.changes().size());
            return CompletableFuture.completedFuture(null);
          },
          metrics);

  private long count(String name) {
    return metrics.registry().counter(name).getCount();
  }

  @Test
  void publish_countsChanges_skipsAnEmptyUpdate_andAFailureOnlyCounts() {
    PresenceUpdate one =
        new PresenceUpdate(
            true,
            List.of(new PresenceChange(PresenceChange.ALL_APPS, PresenceStatus.ONLINE, null, 1)),
            ApplicationIds.NONE);
    join(changes.publish("alice", PresenceUpdate.UNCHANGED, 1));
    join(changes.publish("alice", one, 1));
    down.set(true);
    join(changes.publish("bob", one, 2));
    changes.published(3);
    assertThat(published).containsExactly("alice:1");
    assertThat(count("presence.device.presence.changes")).isEqualTo(5);
    assertThat(count("presence.device.presence.publish_failures")).isEqualTo(1);
  }
}
