package org.presence.gateway.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.presence.store.testing.Futures.failure;
import static org.presence.store.testing.Futures.join;

import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.presence.gateway.metrics.GatewayMetrics;
import org.presence.protocol.error.ErrorCode;
import org.presence.protocol.model.ApplicationIds;
import org.presence.protocol.model.PresenceStatus;
import org.presence.store.presence.LocalPresenceStateStore;
import org.presence.store.presence.PresenceChange;
import org.presence.store.presence.PresenceUpdate;
import org.presence.store.presence.StatusBatches;

/**
 * A session's status updates on both paths: decided in the state store and then published (one
 * process), or decided and logged by the store's status batches (a cluster), where they are only
 * counted; a session that lost its device is refused either way, and every answer is timed.
 */
class SessionStatusesTest {
  private final GatewayMetrics metrics = GatewayMetrics.create();
  private final LocalPresenceStateStore state = new LocalPresenceStateStore();
  private final List<String> published = new CopyOnWriteArrayList<>();
  private final PresenceChanges changes =
      new PresenceChanges(
          (user, update, now) -> {
            published.add(user + ":" + update.changes().size());
            return CompletableFuture.completedFuture(null);
          },
          metrics);
  private final SessionStatuses statuses =
      new SessionStatuses(
          state,
          changes,
          new SettingsMessages("node-a", state, changes, session -> {}, Clock.systemUTC()),
          Clock.systemUTC(),
          metrics.latency());

  private void claim(String device, UUID session) {
    join(state.claim("alice", device, session, "node-a", 5, System.currentTimeMillis()));
  }

  private long changesCounted() {
    return metrics.registry().counter("presence.device.presence.changes").getCount();
  }

  /** The number of device acks timed with {@code outcome}. */
  private long acks(String outcome) {
    for (MetricSnapshot m : metrics.latency().registry().scrape()) {
      if (m instanceof HistogramSnapshot h
          && h.getMetadata().getName().equals("presence_device_ack_seconds")) {
        return h.getDataPoints().stream()
            .filter(p -> outcome.equals(p.getLabels().get("outcome")))
            .mapToLong(HistogramSnapshot.HistogramDataPointSnapshot::getCount)
            .sum();
      }
    }
    throw new AssertionError("no device ack histogram");
  }

  @Test
  void oneProcess_storesThenPublishes_andRefusesAReplacedSession() {
    UUID first = UUID.randomUUID();
    UUID second = UUID.randomUUID();
    claim("phone", first);
    join(statuses.update("alice", "phone", first, PresenceStatus.ONLINE, null, null));
    join(statuses.update("alice", "phone", first, PresenceStatus.ONLINE, null, null));
    claim("phone", second);
    ErrorCode refused =
        failure(statuses.update("alice", "phone", first, PresenceStatus.AWAY, null, null));

    assertThat(refused).isEqualTo(ErrorCode.SESSION_REPLACED);
    // The repeated status changed nothing anyone sees: one publication.
    assertThat(published).containsExactly("alice:1");
    assertThat(changesCounted()).isEqualTo(1);
    assertThat(acks("ok")).isEqualTo(2);
    assertThat(acks("error")).isEqualTo(1);
  }

  @Test
  void cluster_theBatchesDecideAndLog_theirChangesAreOnlyCounted() {
    List<PresenceUpdate> answers =
        new CopyOnWriteArrayList<>(
            List.of(
                new PresenceUpdate(
                    true,
                    List.of(
                        new PresenceChange(PresenceChange.ALL_APPS, PresenceStatus.ONLINE, null, 1),
                        new PresenceChange(7, PresenceStatus.ONLINE, null, 1)),
                    ApplicationIds.NONE),
                PresenceUpdate.NOT_OWNER));
    List<String> batched = new CopyOnWriteArrayList<>();
    StatusBatches batches =
        (user, device, session, status, message, applicationIds, messages, now) -> {
          batched.add(user + ":" + device + ":" + status.wireName());
          return CompletableFuture.completedFuture(answers.remove(0));
        };
    statuses.attach(batches);
    UUID session = UUID.randomUUID();

    join(statuses.update("alice", "phone", session, PresenceStatus.ONLINE, null, null));
    ErrorCode refused =
        failure(statuses.update("alice", "phone", session, PresenceStatus.AWAY, null, null));

    assertThat(batched).containsExactly("alice:phone:online", "alice:phone:away");
    assertThat(refused).isEqualTo(ErrorCode.SESSION_REPLACED);
    assertThat(published).isEmpty();
    assertThat(changesCounted()).isEqualTo(2);
    assertThat(acks("ok")).isEqualTo(1);
    assertThat(acks("error")).isEqualTo(1);
  }
}
